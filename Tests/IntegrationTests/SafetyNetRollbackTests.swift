import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #15 part 2: `POST /api/v1/repo/{repo}/rollback` with the real server, client, ostree and flatpak.
@Suite("Safety net: rollback", .enabled(if: TestEnvironment.hasOSTree))
struct SafetyNetRollbackTests {
    @Test(
        "a rollback to v1's commit makes a new commit on top and a user's flatpak update brings v1 back",
        arguments: TestEnvironment.databases)
    func rollbackBringsBackEarlierContent(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let admin = try Client(token: server.adminToken)
            let ostree = try Management.tool("ostree")
            let ref = try await Management.appRef()
            let user = try FlatpakUser()
            try await publish(version: "1", to: server, with: admin)
            let v1 = try #require(try await Management.refs(of: server.repoPath)[ref])
            try await publish(version: "2", to: server, with: admin)
            let v2 = try #require(try await Management.refs(of: server.repoPath)[ref])
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let before = try await user.run(FixtureRepo.appID)
            let publisher = try Client(
                token: try Management.token(
                    scope: ["publish", "jobs"], prefixes: [FixtureRepo.appID], repos: ["stable"]))

            let outputFile = server.directory.appending("rollback-output.json")

            // Act
            try await publisher.check([
                "rollback", "--wait-update", "--output", outputFile.path,
                server.url("/api/v1/repo/stable").absoluteString, ref, v1,
            ])
            try await user.update()
            let after = try await user.run(FixtureRepo.appID)
            let head = try #require(try await Management.refs(of: server.repoPath)[ref])
            let log = try await ProcessRunner.check(ostree, ["log", "--repo=\(server.repoPath.path)", ref]).stdout
            let headTree = try await ProcessRunner.check(
                ostree, ["show", "--repo=\(server.repoPath.path)", "--print-metadata-key=xa.metadata", head]
            ).stdout
            let v1Tree = try await ProcessRunner.check(
                ostree, ["show", "--repo=\(server.repoPath.path)", "--print-metadata-key=xa.metadata", v1]
            ).stdout
            let fsck = try await ProcessRunner.run(ostree, ["fsck", "--repo=\(server.repoPath.path)"])

            // Assert
            #expect(before == "Hello 2")
            #expect(after == "Hello 1")
            #expect(head != v1 && head != v2)
            let commits = log.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("commit ") }
            #expect(commits.map { String($0.dropFirst("commit ".count)) } == [head, v2, v1], "\(log)")
            #expect(log.contains("Roll back to \(v1)"), "\(log)")
            #expect(headTree == v1Tree)
            #expect(fsck.succeeded, "\(fsck.stdout)\n\(fsck.stderr)")
            let output = try JSONSerialization.jsonObject(with: Data(contentsOf: outputFile)) as? [String: Any]
            let job = try #require(output?["result"] as? [String: Any], "\(String(describing: output))")
            #expect(job["kind"] as? Int == 100, "\(job)")
            #expect(job["status"] as? Int == 2, "\(job)")
            let results = try #require(job["results"] as? [String: Any])
            #expect((results["refs"] as? [String: String])?[ref] == head, "\(results)")
            #expect(results["rolled-back-to"] as? String == v1)
            let status = try await HTTP.request("GET", server.url("/status/\(try #require(job["id"] as? Int))"))
            #expect(status.text.contains("Rollback"), "\(status.text)")
        }
    }

    @Test(
        "a rollback is refused for a token without publish scope, prefix or repo, and for a commit outside the history",
        arguments: TestEnvironment.databases)
    func rollbackRefusals(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let admin = try Client(token: server.adminToken)
            let ref = try await Management.appRef()
            try await publish(version: "1", to: server, with: admin)
            let v1 = try #require(try await Management.refs(of: server.repoPath)[ref])
            let good = try Management.token(scope: ["publish"], prefixes: [FixtureRepo.appID], repos: ["stable"])
            let path = "/api/v1/repo/stable/rollback"
            func post(_ token: String, ref: String = ref, commit: String = v1) async throws -> HTTPResponse {
                try await Management.call(server, "POST", path, token: token, json: ["ref": ref, "commit": commit])
            }

            // Act
            let wrongScope = try await post(
                try Management.token(scope: ["build", "upload"], prefixes: [FixtureRepo.appID], repos: ["stable"]))
            let wrongPrefix = try await post(
                try Management.token(scope: ["publish"], prefixes: ["org.other"], repos: ["stable"]))
            let wrongRepo = try await post(
                try Management.token(scope: ["publish"], prefixes: [FixtureRepo.appID], repos: ["other"]))
            let unknownCommit = try await post(good, commit: String(repeating: "a", count: 64))
            let badCommit = try await post(good, commit: "../../etc")
            let badRef = try await post(good, ref: "app/../x86_64/stable")
            let missingRef = try await post(good, ref: ref.replacingOccurrences(of: "/stable", with: "/beta"))
            let unknownRepo = try await Management.call(
                server, "POST", "/api/v1/repo/nosuch/rollback", token: good, json: ["ref": ref, "commit": v1])
            let after = try #require(try await Management.refs(of: server.repoPath)[ref])

            // Assert
            #expect(wrongScope.status == 403, "\(wrongScope.text)")
            #expect(wrongPrefix.status == 403, "\(wrongPrefix.text)")
            #expect(wrongRepo.status == 403, "\(wrongRepo.text)")
            #expect(unknownCommit.status == 400, "\(unknownCommit.text)")
            #expect(unknownCommit.errorBody()?.message.contains("not in the history") == true, "\(unknownCommit.text)")
            #expect(badCommit.status == 400, "\(badCommit.text)")
            #expect(badRef.status == 400, "\(badRef.text)")
            #expect(missingRef.status == 400, "\(missingRef.text)")
            #expect(unknownRepo.status == 403, "a token for stable only: \(unknownRepo.text)")
            #expect(after == v1, "nothing was committed")
        }
    }
}
