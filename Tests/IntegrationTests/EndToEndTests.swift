import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #2's main flow with our own client, server and real flatpak: a build is created, pushed, committed and
/// published; a flatpak user installs and runs it, then updates to the next published build.
@Suite("End to end", .enabled(if: TestEnvironment.hasOSTree))
struct EndToEndTests {
    @Test(
        "a published app installs and runs with flatpak, and a second build updates it",
        arguments: TestEnvironment.databases)
    func publishedAppInstallsRunsAndUpdates(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let client = try Client(token: server.adminToken)
            let user = try FlatpakUser()

            // Act
            try await publish(version: "1", to: server, with: client)
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let first = try await user.run(FixtureRepo.appID)
            try await publish(version: "2", to: server, with: client)
            try await user.update()
            let second = try await user.run(FixtureRepo.appID)

            // Assert
            #expect(first == "Hello 1")
            #expect(second == "Hello 2")
            #expect(await server.isAnswering())
        }
    }

    @Test("the server stops gracefully on SIGTERM", arguments: TestEnvironment.databases)
    func serverStopsOnSIGTERM(database: DatabaseKind) async throws {
        // Arrange
        let server = try await TestServer(database: database)

        // Act
        let status = await server.stop()

        // Assert
        let output = await server.output()
        #expect(status == 0, "\(output)")
    }
}

/// create → push → commit → publish (waiting for the publish and the update-repo job) with our client.
@discardableResult
func publish(version: String, to server: TestServer, with client: Client) async throws -> String {
    let buildURL = try await Management.pushedBuild(version: version, server: server, client: client)
    try await client.check(["commit", "--wait", buildURL])
    try await client.check(["publish", "--wait", "--wait-update", buildURL])
    return buildURL
}
