import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #10, hole 3, inside the job: republish lists `refs/heads/app/<app>` and must never walk out of
/// `refs/heads`, whether through a symlinked ref directory or an app id that reads as a path.
@Suite("Republish walks", .enabled(if: TestEnvironment.hasOSTree))
struct RepublishWalkTests {
    @Test(
        "a symlinked ref directory fails the republish job instead of being followed",
        arguments: TestEnvironment.databases)
    func symlinkedRefDirectoryIsRefused(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let outside = server.directory.appending("outside")
            let fakeRef = outside.appendingPathComponent("x86_64/stable")
            try FileManager.default.createDirectory(
                at: fakeRef.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(String(repeating: "ab", count: 32).utf8).write(to: fakeRef)
            let heads = server.repoPath.appendingPathComponent("refs/heads/app")
            try FileManager.default.createDirectory(at: heads, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: heads.appendingPathComponent("org.test.Evil").path, withDestinationPath: outside.path)

            // Act
            let started = try await Management.object(
                server, "POST", "/api/v1/repo/stable/republish", token: server.adminToken,
                json: ["app": "org.test.Evil"])
            let job = try await Management.finishedJob(
                server, id: try #require(started["id"] as? Int), token: server.adminToken)

            // Assert
            let log = job["log"] as? String ?? ""
            #expect(job["status"] as? Int == 3, "\(job)")
            #expect(log.contains("Refusing refs/heads/app/org.test.Evil: is a symbolic link"), "\(log)")
            #expect(!log.contains("Re-publishing"), "\(log)")
            #expect(await server.isAnswering())
        }
    }

    @Test(
        "an app id that reads as a path never reaches a walk: refused at the API or by the job",
        arguments: TestEnvironment.databases)
    func pathLikeAppIDIsRefused(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let app = "org.test.Hello/../../../../etc"

            // Act
            let response = try await Management.call(
                server, "POST", "/api/v1/repo/stable/republish", token: server.adminToken, json: ["app": app])

            // Assert: the API may refuse it (400, once ids are validated at the edge); if it queues a job, the
            // job refuses the id before listing anything.
            if response.status == 200 {
                let started = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                let job = try await Management.finishedJob(
                    server, id: try #require(started?["id"] as? Int), token: server.adminToken)
                let log = job["log"] as? String ?? ""
                #expect(job["status"] as? Int == 3, "\(job)")
                #expect(log.contains("Invalid app id \(app)"), "\(log)")
                #expect(!log.contains("Re-publishing"), "\(log)")
            } else {
                #expect(response.status == 400, "\(response.text)")
            }
            #expect(await server.isAnswering())
        }
    }
}
