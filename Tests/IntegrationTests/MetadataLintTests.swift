import Foundation
import TestSupport
import Testing

/// Issue #15 part 6, metadata lint: with the repo's `metadata-lint`, the commit job refuses a build whose metadata
/// disagrees with itself, its ref or its build, naming the problem; a build flatpak made passes.
@Suite("Safety net: metadata lint", .enabled(if: TestEnvironment.hasOSTree))
struct MetadataLintIntegrationTests {
    static func server(database: DatabaseKind) async throws -> TestServer {
        try await Management.server(database: database) { config in
            try Management.setRepoKey("metadata-lint", true, in: &config)
        }
    }

    /// The commit job of a refused build failed it and its log names `problem`.
    static func expectRefused(
        _ build: (id: Int, url: String, job: [String: Any]), _ problem: String, server: TestServer
    )
        async throws
    {
        let state = try await Management.object(server, "GET", "/api/v1/build/\(build.id)", token: server.adminToken)
        let log = build.job["log"] as? String ?? ""
        #expect(build.job["status"] as? Int == 3, "commit job: \(build.job)")
        #expect(log.contains("Metadata lint: \(problem)"), "log lacks \(problem): \(log)")
        #expect(state["repo_state"] as? Int == 3, "build: \(state)")
        #expect((state["repo_state_reason"] as? String)?.contains("metadata lint") == true, "build: \(state)")
    }

    @Test("each disagreement fails the commit with its message", arguments: TestEnvironment.databases)
    func disagreementsAreRefused(database: DatabaseKind) async throws {
        // Arrange
        let directory = try TempDirectory(prefix: "flat-manager-lint")
        let server = try await Self.server(database: database)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let ref = try await Management.appRef()
            let arch = try #require(ref.split(separator: "/").dropFirst(2).first.map(String.init))
            let other = arch == "aarch64" ? "x86_64" : "aarch64"
            let text = try await SafetyNet.fixtureMetadata()
            let otherArch = text.replacingOccurrences(of: "/\(arch)/", with: "/\(other)/")
            let cases: [(name: String, crafted: SafetyNet.Crafted, problem: String)] = [
                (
                    "disagreement", SafetyNet.Crafted(ref: ref, xaMetadata: text + "[Context]\nshared=network;\n"),
                    "\(ref): xa.metadata of the commit disagrees with the /metadata file in its tree"
                ),
                (
                    "nul",
                    SafetyNet.Crafted(
                        ref: ref, metadataFile: Array((text + "\u{0}[Context]\n").utf8), xaMetadata: text),
                    "\(ref): the /metadata file of the tree contains a NUL byte"
                ),
                (
                    "branch", SafetyNet.Crafted(ref: ref, xaRef: "app/org.test.Hello/\(arch)/beta"),
                    "\(ref): the commit was made for 'app/org.test.Hello/\(arch)/beta' (xa.ref), not \(ref)"
                ),
                (
                    "arch", SafetyNet.Crafted(ref: ref, metadataFile: Array(otherArch.utf8)),
                    "\(ref): the metadata's runtime=org.test.Platform/\(other)/1 is for arch \(other), the ref for \(arch)"
                ),
            ]

            for example in cases {
                // Act
                let repo = try await SafetyNet.repository(example.crafted, in: directory, name: example.name)
                let build = try await SafetyNet.committedBuild(from: repo, server: server, client: client)

                // Assert
                try await Self.expectRefused(build, example.problem, server: server)
            }
        }
        await server.stop()
    }

    @Test("an app id other than the build's fails the commit", arguments: TestEnvironment.databases)
    func appIDMismatchIsRefused(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Self.server(database: database)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let ref = try await Management.appRef()
            let fixture = try await FixtureRepo.shared.repository(version: "1")

            // Act
            let build = try await SafetyNet.committedBuild(
                from: fixture, server: server, client: client, appID: "org.test.Other")

            // Assert
            try await Self.expectRefused(
                build, "\(ref): the app id org.test.Hello of ref \(ref) is not the build's app id org.test.Other",
                server: server)
        }
        await server.stop()
    }

    @Test("a build flatpak made passes the lint and publishes", arguments: TestEnvironment.databases)
    func cleanBuildPasses(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Self.server(database: database)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")

            // Act
            let build = try await SafetyNet.committedBuild(
                from: fixture, server: server, client: client, appID: "org.test.Hello")
            let publish = try await SafetyNet.publish(server, build: build.id)

            // Assert
            #expect(build.job["status"] as? Int == 2, "commit job: \(build.job)")
            #expect((build.job["log"] as? String)?.contains("Metadata lint") == false)
            #expect(publish["status"] as? Int == 2, "publish: \(publish)")
        }
        await server.stop()
    }
}
