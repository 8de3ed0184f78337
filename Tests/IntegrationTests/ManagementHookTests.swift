import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #3, hooks and republish: the publish hook may rewrite a build before it is imported, knows whether it
/// runs for a republish, and a failing hook leaves the main repository as it was.
@Suite("Management: publish hook and republish", .enabled(if: TestEnvironment.hasOSTree))
struct ManagementHookTests {
    /// A publish hook that records `$FLAT_MANAGER_IS_REPUBLISH $FLAT_MANAGER_BUILD_ID` in `<dir>/hook-calls`,
    /// fails while `<dir>/hook-fails` exists, and otherwise re-commits every app ref of its working directory with
    /// the metadata `xa.hook-edit = $FLAT_MANAGER_IS_REPUBLISH`.
    static func hookedServer(database: DatabaseKind, scripts: TempDirectory) async throws -> TestServer {
        let hook = try Management.script(
            "publish-hook.sh", in: scripts,
            """
            echo "$FLAT_MANAGER_IS_REPUBLISH ${FLAT_MANAGER_BUILD_ID:-none}" >> \(scripts.path)/hook-calls
            if [ -f \(scripts.path)/hook-fails ]; then echo 'hook says no' >&2; exit 3; fi
            for ref in $(ostree refs --repo=. | grep '^app/'); do
                ostree commit --repo=. -b "$ref" --tree=ref="$ref" --keep-metadata=xa.metadata \\
                    --add-metadata-string=xa.hook-edit="$FLAT_MANAGER_IS_REPUBLISH" -s 'edited by the hook' || exit 1
            done
            echo 'hook done'
            """)
        return try await Management.server(database: database) { config in
            try Management.setRepoKey("hooks", ["publish": [hook]], in: &config)
        }
    }

    /// `ostree show --print-metadata-key=KEY REF` in the main repository, or nil when the key is absent.
    static func metadata(_ key: String, ref: String, server: TestServer) async throws -> String? {
        let result = try await ProcessRunner.run(
            try Management.tool("ostree"),
            ["show", "--repo=\(server.repoPath.path)", "--print-metadata-key=\(key)", ref])
        guard result.succeeded else { return nil }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "the publish hook's edit is published, and republish with an end-of-life reaches flatpak",
        arguments: TestEnvironment.databases)
    func hookEditsAndRepublishEndOfLife(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-hooks")
        let server = try await Self.hookedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let ref = try await Management.appRef()
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let user = try FlatpakUser()
            let endOfLife = "Replaced by org.test.Other"

            // Act
            let published = try await Management.publishJob(server, build: build, token: token)
            try await Management.waitForUpdate(server, after: published, token: token)
            let editOnPublish = try await Self.metadata("xa.hook-edit", ref: ref, server: server)
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let started = try await Management.object(
                server, "POST", "/api/v1/repo/stable/republish", token: token,
                json: ["app": FixtureRepo.appID, "endoflife": endOfLife])
            let republished = try await Management.finishedJob(
                server, id: try #require(started["id"] as? Int), token: token)
            try await Management.waitForUpdate(server, after: republished, token: token)
            let editOnRepublish = try await Self.metadata("xa.hook-edit", ref: ref, server: server)
            let eolMetadata = try await Self.metadata("ostree.endoflife", ref: ref, server: server)
            let remoteInfo = try await user.flatpak(["remote-info", "--user", "test", ref]).stdout
            let calls = try String(contentsOf: scripts.appending("hook-calls"), encoding: .utf8)

            // Assert
            #expect(published["status"] as? Int == 2, "\(published)")
            #expect((published["log"] as? String)?.contains("hook done") == true)
            #expect(editOnPublish == "'false'")
            #expect(republished["status"] as? Int == 2, "\(republished)")
            #expect(editOnRepublish == "'true'")
            #expect(eolMetadata == "'\(endOfLife)'")
            #expect(remoteInfo.contains(endOfLife), "\(remoteInfo)")
            #expect(calls == "false \(build)\ntrue none\n")
        }
        await server.stop()
    }

    @Test(
        "a failing publish hook fails the job with a clear message and leaves the repository as it was",
        arguments: TestEnvironment.databases)
    func failingHookLeavesRepository(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-hooks")
        let server = try await Self.hookedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let first = try await Management.committedBuild(version: "1", server: server, client: client)
            let published = try await Management.publishJob(server, build: first, token: token)
            try await Management.waitForUpdate(server, after: published, token: token)
            let second = try await Management.committedBuild(version: "2", server: server, client: client)
            try Data().write(to: scripts.appending("hook-fails"))
            let before = try await Management.refs(of: server.repoPath)

            // Act
            let failed = try await Management.publishJob(server, build: second, token: token)
            let after = try await Management.refs(of: server.repoPath)
            let build = try await Management.object(server, "GET", "/api/v1/build/\(second)", token: token)

            // Assert
            #expect(failed["status"] as? Int == 3)
            let message = try #require(try Management.results(failed)["error-message"] as? String)
            #expect(message.contains("Publish hook"), "\(message)")
            #expect(message.contains("exit status 3"), "\(message)")
            #expect(message.contains("hook says no"), "\(message)")
            #expect((failed["log"] as? String)?.contains("hook says no") == true)
            #expect(after == before)
            #expect(build["published_state"] as? Int == 3)
        }
        await server.stop()
    }
    @Test(
        "the post-publish script runs after the update with the repo as arguments and the server's environment",
        arguments: TestEnvironment.databases)
    func postPublishScript(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-hooks")
        let script = try Management.script(
            "post-publish.sh", in: scripts,
            "echo \"$1 $2\" > \(scripts.path)/arguments\nenv > \(scripts.path)/environment\n"
                + "test -f \"$2/summary\" || exit 4")
        let server = try await Management.server(
            database: database, environment: ["SERVER_ONLY_SECRET": "secret-value"]
        ) { config in
            try Management.setRepoKey("post-publish-script", script, in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)

            // Act
            try await publish(version: "1", to: server, with: client)
            let arguments = try String(contentsOf: scripts.appending("arguments"), encoding: .utf8)
            let environment = try String(contentsOf: scripts.appending("environment"), encoding: .utf8)

            // Assert
            #expect(arguments == "stable \(server.repoPath.path)\n")
            #expect(environment.contains("PATH="))
            // The server's environment reaches the script, as upstream's (issue #12; `hook-environment` narrows it).
            #expect(environment.contains("SERVER_ONLY_SECRET"), "\(environment)")
        }
        await server.stop()
    }
}
