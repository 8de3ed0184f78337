import Foundation
import TestSupport
import Testing

/// What the downgrade-protection and metadata-lint tests share: local repositories holding one hand-made commit of
/// the fixture app's tree (made with `ostree commit`, so its timestamp and metadata are whatever the test wants),
/// and builds pushed from them with the client.
enum SafetyNet {
    /// A commit of the fixture app to craft; every member left nil is as `flatpak build-export` would write it.
    struct Crafted {
        /// The ref the commit is made under (and pushed as).
        var ref: String
        /// The tree's `/metadata` file; nil keeps the fixture's.
        var metadataFile: [UInt8]? = nil
        /// The commit's `xa.metadata`; nil is the file's text.
        var xaMetadata: String? = nil
        /// The commit's `xa.ref`; nil is `ref`.
        var xaRef: String? = nil
        /// `ostree commit --timestamp=`; nil is now.
        var timestamp: String? = nil
    }

    /// The fixture app's `/metadata` (version 1), as flatpak wrote it.
    static func fixtureMetadata() async throws -> String {
        let tree = try TempDirectory(prefix: "flat-manager-metadata")
        let checkout = try await checkoutFixture(into: tree.appending("tree"))
        return try String(contentsOf: checkout.appendingPathComponent("metadata"), encoding: .utf8)
    }

    /// An archive repository in `directory` holding only `crafted`'s commit, with all its objects.
    static func repository(_ crafted: Crafted, in directory: TempDirectory, name: String) async throws -> URL {
        let ostree = try Management.tool("ostree")
        let tree = try await checkoutFixture(into: directory.appending("\(name)-tree"))
        let metadataURL = tree.appendingPathComponent("metadata")
        // Atomically: a user-mode checkout may hard-link files from a cache shared with other checkouts (the
        // other database's run of the same test), and writing in place changed their /metadata too.
        if let file = crafted.metadataFile { try Data(file).write(to: metadataURL, options: .atomic) }
        let fileText = String(decoding: try Data(contentsOf: metadataURL), as: UTF8.self)
        let repo = directory.appending("\(name)-repo")
        try await ProcessRunner.check(ostree, ["init", "--repo=\(repo.path)", "--mode=archive-z2"])
        var arguments = [
            "--repo=\(repo.path)", "commit", "-b", crafted.ref, "--tree=dir=\(tree.path)", "--owner-uid=0",
            "--owner-gid=0", "--subject=crafted \(name)",
            "--add-metadata-string=xa.metadata=\(crafted.xaMetadata ?? fileText)",
            "--add-metadata-string=xa.ref=\(crafted.xaRef ?? crafted.ref)",
        ]
        if let timestamp = crafted.timestamp { arguments.append("--timestamp=\(timestamp)") }
        try await ProcessRunner.check(ostree, arguments)
        return repo
    }

    /// `ostree checkout --user-mode` of the fixture app (version 1) into `destination`.
    static func checkoutFixture(into destination: URL) async throws -> URL {
        let fixture = try await FixtureRepo.shared.repository(version: "1")
        try await ProcessRunner.check(
            try Management.tool("ostree"),
            ["--repo=\(fixture.path)", "checkout", "--user-mode", try await Management.appRef(), destination.path])
        return destination
    }

    /// create (with `appID` when given) → push `repo` → commit, waiting for the commit job whatever its outcome.
    /// Returns the build id and URL and the finished commit job.
    static func committedBuild(
        from repo: URL, server: TestServer, client: Client, appID: String? = nil, commitArguments: [String] = []
    ) async throws -> (id: Int, url: String, job: [String: Any]) {
        let created = try await client.check(["create", server.managerURL, "stable"] + (appID.map { [$0] } ?? []))
        let lines = created.stdout.split(whereSeparator: \.isNewline).map(String.init)
        let url = try #require(lines.last(where: { $0.hasPrefix("http") }), "create printed: \(created.stdout)")
        try await client.check(["push", url, repo.path])
        _ = try await client.run(["commit", "--wait"] + commitArguments + [url])
        let id = try Management.buildID(url)
        let job = try await Management.waitFor(server, "/api/v1/build/\(id)/commit", token: server.adminToken) {
            ($0["status"] as? Int ?? 0) >= 2
        }
        return (id, url, job)
    }

    /// Starts a publish through the API with `body` and waits for the publish job; returns it.
    static func publish(_ server: TestServer, build: Int, body: [String: Any] = [:]) async throws -> [String: Any] {
        let token = server.adminToken
        let job = try await Management.object(
            server, "POST", "/api/v1/build/\(build)/publish", token: token, json: body)
        let id = try #require(job["id"] as? Int)
        return try await Management.finishedJob(server, id: id, token: token)
    }
}
