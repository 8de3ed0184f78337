import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #3 on the repository side: token-protected downloads, purge in each state, and a prune that never takes
/// objects from under a build in progress.
@Suite("Management: downloads, purge and prune", .enabled(if: TestEnvironment.hasOSTree))
struct ManagementRepoTests {
    @Test(
        "a commit with a protected token type is refused without a token and served with a covering one",
        arguments: TestEnvironment.databases)
    func protectedCommitDownload(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey("require-auth-for-token-types", [1], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(
                version: "1", server: server, client: client, commitArguments: ["--token-type", "1"])
            let published = try await Management.publishJob(server, build: build, token: token)
            try await Management.waitForUpdate(server, after: published, token: token)
            let commit = try #require(try await Management.refs(of: server.repoPath)[try await Management.appRef()])
            let path = "/repo/stable/objects/\(commit.prefix(2))/\(commit.dropFirst(2)).commit"
            let covering = try Management.token(scope: [], prefixes: [FixtureRepo.appID])
            let other = try Management.token(scope: [], prefixes: ["org.other"])

            // Act
            let anonymous = try await HTTP.request("GET", server.url(path))
            let allowed = try await HTTP.request("GET", server.url(path), token: covering)
            let wrongApp = try await HTTP.request("GET", server.url(path), token: other)

            // Assert
            #expect(anonymous.status == 403, "\(anonymous.text)")
            #expect(anonymous.headers["cache-control"] == "no-store")
            #expect(allowed.status == 200)
            #expect(allowed.headers["cache-control"] == "no-store")
            #expect(!allowed.body.isEmpty)
            #expect(wrongApp.status == 403)
        }
        await server.stop()
    }

    /// `POST /api/v1/build/{id}/purge`.
    static func purge(_ server: TestServer, _ build: Int) async throws -> HTTPResponse {
        try await Management.call(server, "POST", "/api/v1/build/\(build)/purge", token: server.adminToken, json: [:])
    }

    /// The build JSON of a 200 purge answer.
    static func purgedBuild(_ response: HTTPResponse) throws -> [String: Any] {
        guard response.status == 200,
            let build = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else { throw TestSupportError.unexpected("purge answered \(response.status): \(response.text)") }
        return build
    }

    @Test("purge gives the spec's result in each state of a build", arguments: TestEnvironment.databases)
    func purgeInEachState(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-purge")
        let review = try Management.script("review.sh", in: scripts, "exit 1")
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey(
                "hooks", ["checks": ["review": ["command": [review], "reviewable": true]]], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let uploading = try #require(
                try await Management.object(server, "POST", "/api/v1/build", token: token, json: ["repo": "stable"])[
                    "id"] as? Int)
            let failing = try #require(
                try await Management.object(server, "POST", "/api/v1/build", token: token, json: ["repo": "stable"])[
                    "id"] as? Int)
            let noRefsCommit = try await Management.object(
                server, "POST", "/api/v1/build/\(failing)/commit", token: token, json: [:])
            _ = try await Management.finishedJob(server, id: try #require(noRefsCommit["id"] as? Int), token: token)
            let validating = try await Management.committedBuild(version: "1", server: server, client: client)
            let ready = try await Management.committedBuild(version: "2", server: server, client: client)
            for build in [validating, ready] {
                let checks = try await Management.settledChecks(server, build: build, count: 1, token: token)
                let job = try #require(checks["review"]?["job_id"] as? Int)
                if build == ready {
                    _ = try await Management.call(
                        server, "POST", "/api/v1/job/\(job)/check/review", token: token,
                        json: ["new-status": ["status": "Passed"]])
                    _ = try await Management.waitFor(server, "/api/v1/build/\(build)", token: token) {
                        $0["repo_state"] as? Int == 2
                    }
                }
            }

            // Act
            let whileValidating = try await Self.purge(server, validating)
            let fromUploading = try Self.purgedBuild(try await Self.purge(server, uploading))
            let twice = try Self.purgedBuild(try await Self.purge(server, uploading))
            let fromFailed = try Self.purgedBuild(try await Self.purge(server, failing))
            let fromReady = try Self.purgedBuild(try await Self.purge(server, ready))
            let publishPurged = try await Management.call(
                server, "POST", "/api/v1/build/\(ready)/publish", token: token, json: [:])

            // Assert
            #expect(whileValidating.status == 400)
            #expect(whileValidating.errorBody()?.message == "Can't prune build while in use")
            #expect(fromUploading["repo_state"] as? Int == 5)
            #expect(
                !FileManager.default.fileExists(
                    atPath: server.buildRepoBase.appendingPathComponent("\(uploading)").path))
            #expect(twice["repo_state"] as? Int == 3)
            #expect((twice["repo_state_reason"] as? String)?.hasPrefix("Failed to Purge build: ") == true, "\(twice)")
            #expect(fromFailed["repo_state"] as? Int == 5)
            #expect(fromReady["repo_state"] as? Int == 5)
            #expect(publishPurged.status == 400)
            #expect(Management.member("current-state", of: publishPurged) == "purged")
        }
        await server.stop()
    }

    @Test(
        "a published build can be purged and the main repository keeps its refs", arguments: TestEnvironment.databases)
    func purgePublished(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let client = try Client(token: server.adminToken)
            let buildURL = try await publish(version: "1", to: server, with: client)
            let build = try Management.buildID(buildURL)
            let before = try await Management.refs(of: server.repoPath)

            // Act
            let purged = try Self.purgedBuild(try await Self.purge(server, build))
            let after = try await Management.refs(of: server.repoPath)

            // Assert
            #expect(purged["repo_state"] as? Int == 5)
            #expect(purged["published_state"] as? Int == 2)
            #expect(after == before)
        }
    }

    @Test(
        "a prune runs while a build relies on objects only unreachable history holds; the build commits, publishes, installs",
        arguments: TestEnvironment.databases)
    func pruneSparesBuildsInProgress(database: DatabaseKind) async throws {
        try await pruneSparesBuildInProgress(database: database, restartBeforePrune: false)
    }

    @Test(
        "what a build relies on is recorded on disk: after a restart between the push and the prune, the build still commits, publishes, installs",
        arguments: TestEnvironment.databases)
    func pruneAfterRestartSparesBuildsInProgress(database: DatabaseKind) async throws {
        try await pruneSparesBuildInProgress(database: database, restartBeforePrune: true)
    }

    func pruneSparesBuildInProgress(database: DatabaseKind, restartBeforePrune: Bool) async throws {
        // Arrange: version 1 is published, then its app ref is removed, so its objects are unreachable in the
        // repo, yet a new upload of the same content relies on them (the client skips what the repo has). The
        // prune runs anyway (issues #12, #13): missing_objects recorded those objects in the build, and the prune
        // links them into the build before it removes anything.
        try await withTestServer(database: database) { server in
            let token = server.adminToken
            let client = try Client(token: token)
            let ostree = try Management.tool("ostree")
            try await publish(version: "1", to: server, with: client)
            try await ProcessRunner.check(
                ostree, ["refs", "--repo=\(server.repoPath.path)", "--delete", try await Management.appRef()])
            let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
            let record = server.buildRepoBase.appending(path: "\(try Management.buildID(buildURL))")
                .appending(path: ".flat-manager-borrowed")
            let recordedBytes = (try? FileManager.default.attributesOfItem(atPath: record.path)[.size] as? Int) ?? 0
            if restartBeforePrune {
                await server.kill()
                _ = await Orphans.kill(naming: server.directory.url.path)
                try await server.start()
            }

            // Act
            let started = try await Management.object(
                server, "POST", "/api/v1/prune", token: token, json: ["repo": "stable"])
            let firstPrune = try await Management.finishedJob(
                server, id: try #require(started["id"] as? Int), token: token)
            try await client.check(["commit", "--wait", buildURL])
            try await client.check(["publish", "--wait", "--wait-update", buildURL])
            let again = try await Management.object(
                server, "POST", "/api/v1/prune", token: token, json: ["repo": "stable"])
            let pruned = try await Management.finishedJob(server, id: try #require(again["id"] as? Int), token: token)
            let fsck = try await ProcessRunner.run(ostree, ["fsck", "--repo=\(server.repoPath.path)"])
            let user = try FlatpakUser()
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let output = try await user.run(FixtureRepo.appID)

            // Assert
            let firstLog = firstPrune["log"] as? String ?? ""
            #expect(recordedBytes > 0 && recordedBytes % 33 == 0, "the push relied on the main repo: \(recordedBytes)")
            #expect(firstLog.contains("linked"), "the prune linked the recorded objects first: \(firstLog)")
            #expect(firstPrune["status"] as? Int == 2, "\(firstPrune)")
            #expect(firstLog.contains("Total objects"), "the dry run reports: \(firstLog)")
            #expect(firstLog.contains("Running actual prune"), "a build in flight no longer holds the prune back")
            #expect(!firstLog.contains("Skipping prune"))
            let realPrune = firstLog.components(separatedBy: "Prune stdout:").last ?? ""
            #expect(realPrune.contains("Deleted ") && !realPrune.contains("Deleted 0 objects"), "\(firstLog)")
            #expect(pruned["status"] as? Int == 2, "\(pruned)")
            #expect((pruned["log"] as? String)?.contains("Running actual prune") == true)
            #expect(fsck.succeeded, "\(fsck.stdout)\n\(fsck.stderr)")
            #expect(output == "Hello 1")
        }
    }
}
