import Foundation
import TestSupport
import Testing

/// The client's static-delta upload (client.md A.9, issue #4 item 4): `push` sends the local repo's from-scratch
/// deltas of the pushed commits, the commit job rewrites them for the build's commit, and `--ignore-delta` leaves
/// the deltas of matching ids out.
@Suite("Client delta upload", .enabled(if: TestEnvironment.hasOSTree))
struct ClientDeltaUploadTests {
    @Test(
        "push uploads the from-scratch deltas of the pushed refs, commit rewrites them, --ignore-delta skips them",
        arguments: TestEnvironment.databases)
    func pushUploadsFromScratchDeltas(database: DatabaseKind) async throws {
        // Arrange: a local repo with a from-scratch delta of the app's commit (none for the runtime).
        try await withTestServer(database: database) { server in
            let ostree = try #require(TestEnvironment.executable(named: "ostree"))
            let directory = try TempDirectory(prefix: "flat-manager-delta-push")
            let local = try await FixtureRepo.build(into: directory.appending("repo"), version: "1")
            let ref = FixtureRepo.appRef(arch: try await defaultArch())
            let commit = try await ProcessRunner.check(ostree, ["rev-parse", "--repo=\(local.path)", ref]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await ProcessRunner.check(
                ostree, ["static-delta", "generate", "--repo=\(local.path)", "--empty", "--to=\(commit)"])
            let client = try Client(token: server.adminToken)

            // Act
            let withDeltas = try await client.createBuild(managerURL: server.managerURL)
            let pushed = try await client.check(["push", withDeltas, local.path])
            let uploaded = Self.files(under: Self.buildDirectory(server, withDeltas).appending(path: "upload/deltas"))
            try await client.check(["commit", "--wait", withDeltas])
            let rewritten = try await ProcessRunner.check(
                ostree, ["static-delta", "list", "--repo=\(Self.buildDirectory(server, withDeltas).path)"]
            ).stdout
            let builtCommit = try String(
                contentsOf: Self.buildDirectory(server, withDeltas).appending(path: "refs/heads/\(ref)"),
                encoding: .utf8
            ).trimmingCharacters(in: .whitespacesAndNewlines)
            let ignoring = try await client.createBuild(managerURL: server.managerURL)
            let pushedIgnoring = try await client.check(["push", "--ignore-delta", "org.test.*", ignoring, local.path])
            let uploadedIgnoring = Self.files(
                under: Self.buildDirectory(server, ignoring).appending(path: "upload/deltas"))

            // Assert
            #expect(pushed.stdout.contains(" \(ref): \(commit)"), "\(pushed.stdout)")
            #expect(uploaded.contains { $0.hasSuffix("/superblock") }, "\(uploaded)")
            #expect(rewritten.contains(builtCommit), "flatpak rewrote the delta for the build's commit: \(rewritten)")
            #expect(builtCommit != commit)
            #expect(!pushedIgnoring.stdout.contains(" \(ref): "), "\(pushedIgnoring.stdout)")
            #expect(uploadedIgnoring.isEmpty, "\(uploadedIgnoring)")
        }
    }

    /// `<build-repo-base>/<id>` of a build URL.
    static func buildDirectory(_ server: TestServer, _ buildURL: String) -> URL {
        server.buildRepoBase.appending(path: String(buildURL.split(separator: "/").last ?? ""))
    }

    /// Paths of the regular files below `directory`, relative to it; empty when it does not exist.
    static func files(under directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(
                atPath: directory.appending(path: path).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}
