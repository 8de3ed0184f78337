import FlatManagerCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// No child outlives the server (issue 14 point 3): a `kill -9` of the server takes the running tool and everything
/// it started down with it, on both databases.
@Suite("No orphans after a kill -9", .enabled(if: TestEnvironment.hasOSTree))
struct OrphanTests {
    @Test(
        "a tool running when the server is killed with SIGKILL dies with it, grandchildren included",
        arguments: TestEnvironment.databases)
    func childrenDieWithTheServer(database: DatabaseKind) async throws {
        // Arrange: the commit's build-commit-from is held (with a lingering grandchild) until the test lets go.
        let tool = try HeldFlatpak()
        try tool.holdCommits()
        defer { tool.release() }
        let server = try await TestServer(database: database, extraPath: [tool.directory.url])
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", buildURL, fixture.path])
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            let held = try await tool.waitUntilHeld()
            #expect(!ProcessTable.processes(naming: tool.directory.path).isEmpty, "the held tool is not running")

            // Act
            await server.kill()

            // Assert: within two seconds nothing naming the tool's directory is left (the held script, its linger).
            let survivors = await ProcessTable.survivors(naming: tool.directory.path, after: .seconds(2))
            #expect(survivors.isEmpty, "survivors: \(survivors) (held tool \(held.toolPID))")
            #expect(!tool.entries().contains { $0.event == "released" }, "the held tool went on")
        }
    }
}
