import Foundation
import TestSupport
import Testing

/// Issue #2's flow driven through every subcommand of our client against the real server: `gentoken` mints the
/// token, `create`, `push --minimal-token`, `commit`, `follow-job` (with a token from `create-token`),
/// `publish`; flatpak installs and runs the app; a second build is `purge`d; the repository is `prune`d.
@Suite("Client subcommands end to end", .enabled(if: TestEnvironment.hasOSTree))
struct ClientSubcommandsTests {
    static let allScopes = [
        "build", "upload", "download", "publish", "jobs", "generate", "republish", "reviewcheck", "tokenmanagement",
    ]

    @Test("every subcommand works against the real server", arguments: TestEnvironment.databases)
    func everySubcommandWorks(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let outputs = try TempDirectory(prefix: "client-outputs")
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            let user = try FlatpakUser()

            // Act: gentoken
            let minted = try await Client(token: nil).check(
                ["gentoken", "--secret", TestServer.secretText, "--name", "ci", "--scope"] + Self.allScopes)
            let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let client = try Client(token: token, environment: ["FLAT_MANAGER_CLIENT_POLL_SCALE": "0.2"])

            // create, push, commit
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            let buildID = try #require(buildURL.split(separator: "/").last.map(String.init))
            let push = try await client.check([
                "push", "--minimal-token", "--build-log-url", "https://ci.example/1", buildURL, fixture.path,
            ])
            let commitOutput = outputs.appending("commit.json").path
            try await client.check(["--output", commitOutput, "commit", "--wait", buildURL])
            let commitJob = try Self.result(commitOutput)

            // create-token, follow-job with that token
            let watcherToken = try await client.check([
                "create-token", "--duration", "600", server.managerURL, "watcher", "build", "jobs",
            ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let commitJobID = try #require(commitJob["id"] as? Int)
            let followed = try await Client(token: watcherToken).check([
                "follow-job", server.managerURL + "/api/v1/job/\(commitJobID)",
            ])

            // publish, install, run
            let publishOutput = outputs.appending("publish.json").path
            try await client.check(["--output", publishOutput, "publish", "--wait", "--wait-update", buildURL])
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let ran = try await user.run(FixtureRepo.appID)

            // purge a second build
            let secondURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", secondURL, fixture.path])
            let purgeOutput = outputs.appending("purge.json").path
            let purge = try await client.check(["--output", purgeOutput, "purge", secondURL])

            // prune the repository and follow its job
            let pruneOutput = outputs.appending("prune.json").path
            try await client.check(["--output", pruneOutput, "prune", server.managerURL, "stable"])
            let pruneJobID = try #require(try Self.result(pruneOutput)["id"] as? Int)
            let prune = try await client.check(["follow-job", server.managerURL + "/api/v1/job/\(pruneJobID)"])

            // Assert
            #expect(token.split(separator: ".").count == 3)
            #expect(push.stdout.contains("Uploading refs to \(buildURL): ['app/"))
            #expect(push.stdout.contains("Creating ref app/\(FixtureRepo.appID)/"))
            #expect(commitJob["status"] as? Int == 2)
            #expect(commitJob["location"] as? String == buildURL + "/commit")
            #expect(followed.stdout.hasSuffix("\\ Job completed successfully\n"))
            #expect(try Self.result(publishOutput)["status"] as? Int == 2)
            #expect(ran == "Hello 1")
            #expect(purge.stdout.hasPrefix("Purging build \(secondURL)\n"))
            #expect(try Self.output(purgeOutput)["command"] as? String == "purge")
            let second = try await HTTP.request(
                "GET", server.url("/api/v1/build/\(try #require(secondURL.split(separator: "/").last))"), token: token)
            #expect((try JSONSerialization.jsonObject(with: second.body) as? [String: Any])?["repo_state"] as? Int == 5)
            #expect(prune.stdout.hasSuffix("\\ Job completed successfully\n"))
            let build = try await HTTP.request("GET", server.url("/api/v1/build/\(buildID)"), token: token)
            #expect(
                (try JSONSerialization.jsonObject(with: build.body) as? [String: Any])?["published_state"] as? Int == 2)
        }
    }

    /// The whole output JSON written with `--output`.
    static func output(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Its `result` member.
    static func result(_ path: String) throws -> [String: Any] {
        try #require(try output(path)["result"] as? [String: Any])
    }
}
