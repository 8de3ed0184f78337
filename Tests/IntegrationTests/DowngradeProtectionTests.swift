import Foundation
import TestSupport
import Testing

/// Issue #15 part 1, downgrade protection: with the repo's `downgrade-protection`, a publish whose uploaded commit
/// is older than the ref's current one fails, unless the request allows it or the build ends the ref's life.
@Suite("Safety net: downgrade protection", .enabled(if: TestEnvironment.hasOSTree))
struct DowngradeProtectionTests {
    static let oldTimestamp = "2020-01-01T00:00:00Z"

    /// A server whose `stable` repo has `downgrade-protection` set to `protected` (absent when nil).
    static func server(database: DatabaseKind, protected: Bool?) async throws -> TestServer {
        try await Management.server(database: database) { config in
            if let protected { try Management.setRepoKey("downgrade-protection", protected, in: &config) }
        }
    }

    /// Publishes the fixture app (uploaded now) so that its timestamp is the ref's current one; returns the
    /// crafted repository holding the same app uploaded with a 2020 timestamp.
    static func publishCurrentAndCraftOld(server: TestServer, client: Client, directory: TempDirectory)
        async throws -> URL
    {
        let current = try await Management.committedBuild(version: "1", server: server, client: client)
        let published = try await Management.publishJob(server, build: current, token: server.adminToken)
        #expect(published["status"] as? Int == 2, "publish of the current build: \(published)")
        let old = SafetyNet.Crafted(ref: try await Management.appRef(), timestamp: oldTimestamp)
        return try await SafetyNet.repository(old, in: directory, name: "old")
    }

    @Test(
        "an older uploaded commit is refused at publish with a log line, then published with allow-downgrade",
        arguments: TestEnvironment.databases)
    func olderCommitIsRefusedThenAllowedWithOverride(database: DatabaseKind) async throws {
        // Arrange
        let directory = try TempDirectory(prefix: "flat-manager-downgrade")
        let server = try await Self.server(database: database, protected: true)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let oldRepo = try await Self.publishCurrentAndCraftOld(server: server, client: client, directory: directory)
            let ref = try await Management.appRef()
            let refused = try await SafetyNet.committedBuild(from: oldRepo, server: server, client: client)
            let allowed = try await SafetyNet.committedBuild(from: oldRepo, server: server, client: client)

            // Act
            let refusedJob = try await SafetyNet.publish(server, build: refused.id)
            try await client.check(["publish", "--wait", "--allow-downgrade", allowed.url])
            let allowedJob = try await Management.waitFor(
                server, "/api/v1/build/\(allowed.id)/publish", token: server.adminToken
            ) { ($0["status"] as? Int ?? 0) >= 2 }
            let refusedBuild = try await Management.object(
                server, "GET", "/api/v1/build/\(refused.id)", token: server.adminToken)

            // Assert
            #expect(refused.job["status"] as? Int == 2, "commit: \(refused.job)")
            #expect(refusedJob["status"] as? Int == 3, "refused publish: \(refusedJob)")
            let log = refusedJob["log"] as? String ?? ""
            #expect(
                log.contains(
                    "Downgrade protection: refusing ref \(ref): the uploaded commit is from 2020-01-01T00:00:00Z "
                        + "(1577836800), older than the current one from "),
                "log: \(log)")
            #expect(refusedBuild["published_state"] as? Int == 3)
            #expect((refusedBuild["published_state_reason"] as? String)?.contains("allow-downgrade") == true)
            #expect(allowedJob["status"] as? Int == 2, "allowed publish: \(allowedJob)")
            #expect((allowedJob["log"] as? String)?.contains("allowed by allow-downgrade") == true)
            #expect((allowedJob["contents"] as? String)?.contains(#""allow_downgrade":true"#) == true)
        }
        await server.stop()
    }

    @Test("without downgrade-protection an older commit is published as upstream", arguments: TestEnvironment.databases)
    func olderCommitPublishesWithoutProtection(database: DatabaseKind) async throws {
        // Arrange
        let directory = try TempDirectory(prefix: "flat-manager-downgrade")
        let server = try await Self.server(database: database, protected: nil)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let oldRepo = try await Self.publishCurrentAndCraftOld(server: server, client: client, directory: directory)
            let old = try await SafetyNet.committedBuild(from: oldRepo, server: server, client: client)

            // Act
            let job = try await SafetyNet.publish(server, build: old.id)

            // Assert
            #expect(job["status"] as? Int == 2, "publish: \(job)")
            #expect((job["log"] as? String)?.contains("Downgrade protection") == false)
        }
        await server.stop()
    }

    @Test("a build that ends the ref's life is exempt", arguments: TestEnvironment.databases)
    func endOfLifeIsExempt(database: DatabaseKind) async throws {
        // Arrange
        let directory = try TempDirectory(prefix: "flat-manager-downgrade")
        let server = try await Self.server(database: database, protected: true)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let oldRepo = try await Self.publishCurrentAndCraftOld(server: server, client: client, directory: directory)
            let old = try await SafetyNet.committedBuild(
                from: oldRepo, server: server, client: client, commitArguments: ["--end-of-life=retired"])

            // Act
            let job = try await SafetyNet.publish(server, build: old.id)

            // Assert
            #expect(old.job["status"] as? Int == 2, "commit: \(old.job)")
            #expect(job["status"] as? Int == 2, "publish: \(job)")
            #expect((job["log"] as? String)?.contains("allowed, the build ends the ref's life") == true)
        }
        await server.stop()
    }
}
