import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// `workers` and upstream 0.5's `ACTIX_WORKERS` set the number of HTTP event-loop threads (issue #12, item 5).
@Suite("HTTP worker threads", .enabled(if: TestEnvironment.hasOSTree))
struct HTTPWorkersTests {
    @Test("ACTIX_WORKERS=1 and workers: 2 both start a server that serves")
    func configuredThreadsServe() async throws {
        // Arrange
        let fromEnvironment = try await TestServer(database: .sqlite, environment: ["ACTIX_WORKERS": "1"])
        let fromConfig = try await Management.server(database: .sqlite) { $0["workers"] = 2 }

        // Act
        let first = try await HTTP.request("GET", fromEnvironment.url("/repo/stable/config"))
        let second = try await HTTP.request("GET", fromConfig.url("/repo/stable/config"))

        // Assert
        #expect(first.status == 200)
        #expect(second.status == 200)
        await fromEnvironment.stop()
        await fromConfig.stop()
    }

    @Test("an ACTIX_WORKERS that is not a thread count stops the start-up naming the variable")
    func badValueStopsStartup() async throws {
        // Arrange
        let server = try await TestServer(database: .sqlite)
        await server.stop()
        let binary = try Binaries.url(of: Binaries.server)
        var environment = TestEnvironment.environment
        environment["ACTIX_WORKERS"] = "lots"

        // Act
        let result = try await ProcessRunner.run(
            binary, [], environment: environment, currentDirectory: server.directory.url, timeout: .seconds(60))

        // Assert
        #expect(result.status != 0)
        #expect(result.stderr.contains("ACTIX_WORKERS"), "\(result.stderr)")
    }
}
