import FlatManagerCore
import Foundation
import OSTree

/// Shared helpers: tool detection, temporary directories, fixtures made with the real tools.
enum TestSupport {
    /// Whether `ostree` and `flatpak` are on `PATH` (CI always has them).
    static let hasOSTree: Bool = isOnPath("ostree") && isOnPath("flatpak")

    static func isOnPath(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    /// Runs `body` with a fresh empty directory that is removed afterwards.
    static func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = NSTemporaryDirectory() + "ostree-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    /// Runs a program with our own runner and returns its stdout.
    @discardableResult
    static func run(_ executable: String, _ arguments: String..., in directory: String? = nil) async throws -> String {
        try await CommandRunner().run(
            Command(executable: executable, arguments: arguments, workingDirectory: directory)
        ).stdout
    }

    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// A repo config parsed the way the server does, for a repo at `path`, with extra JSON keys.
    static func repoConfig(path: String, name: String = "stable", extra: String = "") throws -> RepoConfig {
        let json = """
            {"secret": "c2VjcmV0", "build-repo-base": "/tmp",
             "repos": {"\(name)": {"path": "\(path)", "subsets": {}\(extra.isEmpty ? "" : ", " + extra)}}}
            """
        let config = try Config.parse(Data(json.utf8), file: "test.json", workingDirectory: "/")
        guard let repo = config.repos[name] else { throw FixtureError("repo missing from parsed config") }
        return repo
    }

    /// An archive-z2 repo with one commit of a small tree: an executable, an empty file, a symlink, ~5 MB of
    /// random bytes with an xattr, nested directories. Returns the repo path and the commit.
    static func makeContentRepo(in directory: String, ref: String = "test/ref") async throws -> (repo: String, commit: String) {
        let repo = directory + "/repo"
        let tree = directory + "/tree"
        try await run("ostree", "init", "--repo=\(repo)", "--mode=archive-z2")
        try write("hello\n", to: tree + "/bin/hello")
        chmod(tree + "/bin/hello", 0o755)
        try write("", to: tree + "/empty")
        try write("nested\n", to: tree + "/a/b/c/deep.txt")
        try write("hello\n", to: tree + "/a/same-as-hello")
        try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "bin/hello")
        var random = [UInt8](repeating: 0, count: 5 * 1024 * 1024)
        var generator = SystemRandomNumberGenerator()
        for index in random.indices { random[index] = generator.next() }
        try Data(random).write(to: URL(fileURLWithPath: tree + "/random.bin"))
        _ = setxattr(tree + "/random.bin", "user.flatmanager", "value", 5, 0)
        try await run(
            "ostree", "--repo=\(repo)", "commit", "--branch=\(ref)", "--subject=Test subject", "--body=Test body",
            "--add-metadata-string=test.key=test value", tree)
        guard let commit = try Refs.read(repo: repo, ref: ref) else { throw FixtureError("no commit written") }
        return (repo, commit)
    }

    /// A flatpak app exported into `src`, then imported with `build-commit-from --token-type=1` into an archive
    /// repo `dest` with a collection id. Returns the dest path, the ref and its commit.
    static func makeFlatpakRepo(in directory: String, collectionID: String = "org.test.Repo") async throws
        -> (repo: String, ref: String, commit: String)
    {
        let build = directory + "/build"
        let src = directory + "/src"
        let dest = directory + "/dest"
        let ref = "app/org.test.App/x86_64/stable"
        try write(
            "[Application]\nname=org.test.App\nruntime=org.test.Platform/x86_64/1\nsdk=org.test.Sdk/x86_64/1\n",
            to: build + "/metadata")
        try write("#!/bin/sh\necho hi\n", to: build + "/files/bin/hello")
        chmod(build + "/files/bin/hello", 0o755)
        try await run("ostree", "init", "--repo=\(src)", "--mode=archive-z2")
        try await run("ostree", "init", "--repo=\(dest)", "--mode=archive-z2", "--collection-id=\(collectionID)")
        try await run("flatpak", "build-finish", "--command=hello", build)
        try await run("flatpak", "build-export", "--arch=x86_64", src, build, "stable")
        try await run("flatpak", "build-commit-from", "--token-type=1", "--src-repo=\(src)", dest, ref)
        guard let commit = try Refs.read(repo: dest, ref: ref) else { throw FixtureError("no flatpak commit") }
        return (dest, ref, commit)
    }

    /// Adds one more commit on `ref` (with a changed file), so the ref gets a parent chain.
    static func commitAgain(repo: String, ref: String, in directory: String, content: String) async throws -> String {
        let tree = directory + "/tree-\(UUID().uuidString)"
        try write(content, to: tree + "/file.txt")
        try await run("ostree", "--repo=\(repo)", "commit", "--branch=\(ref)", "--subject=\(content)", tree)
        guard let commit = try Refs.read(repo: repo, ref: ref) else { throw FixtureError("no commit written") }
        return commit
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
