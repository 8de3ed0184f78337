import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #10, hole 1: a build's screenshots commit can no longer write outside the repository's `media/`, and a
/// screenshots ref must belong to an app the token covers (0.5.3). Attacks go through the real server, the real
/// client and real ostree.
@Suite("Screenshot security", .enabled(if: TestEnvironment.hasOSTree))
struct ScreenshotSecurityTests {
    /// A first build plants a link, a second build writes through it (the reproduction).
    enum Attack: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case relativeSymlink, absoluteSymlink, symlinkInSubdirectory

        var testDescription: String { rawValue }

        /// The link's name in the first build's tree (and the entry the refusal names).
        var link: String {
            switch self {
            case .relativeSymlink: "up"
            case .absoluteSymlink: "abs"
            case .symlinkInSubdirectory: "org.test.Hello/up"
            }
        }

        /// Where the link points: the repository itself, or a directory elsewhere.
        func target(server: TestServer) -> String {
            switch self {
            case .relativeSymlink: ".."
            case .absoluteSymlink: server.directory.appending("target").path
            case .symlinkInSubdirectory: "../.."
            }
        }

        /// The directory the second build's `PWNED` would land in if the link were followed.
        func escapedDirectory(server: TestServer) -> String {
            switch self {
            case .relativeSymlink, .symlinkInSubdirectory: server.repoPath.path
            case .absoluteSymlink: server.directory.appending("target").path
            }
        }
    }

    @Test(
        "a screenshots commit holding a symlink fails the publish naming the entry, and nothing is written outside media",
        arguments: TestEnvironment.databases, Attack.allCases)
    func symlinkAttackIsRefused(database: DatabaseKind, attack: Attack) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let arch = try await Self.arch()
            let ref = "screenshots/\(arch)"
            let escaped = attack.escapedDirectory(server: server)
            try FileManager.default.createDirectory(atPath: escaped, withIntermediateDirectories: true)
            let planting = try await Self.pushedBuild(server: server) { tree in
                try FileManager.default.createDirectory(
                    at: tree.appendingPathComponent("org.test.Hello"), withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(
                    atPath: tree.appendingPathComponent(attack.link).path,
                    withDestinationPath: attack.target(server: server))
            }
            let writing = try await Self.pushedBuild(server: server) { tree in
                try Self.write("pwned", to: tree.appendingPathComponent(attack.link + "/PWNED"))
            }

            // Act
            let first = try await Management.publishJob(server, build: planting, token: server.adminToken)
            // What a vulnerable server would have left behind (and does, without the fix): the link inside media.
            let planted = server.repoPath.appendingPathComponent("media/" + attack.link)
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: planted.path)) == nil {
                try FileManager.default.createDirectory(
                    at: planted.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(
                    atPath: planted.path, withDestinationPath: attack.target(server: server))
            }
            let second = try await Management.publishJob(server, build: writing, token: server.adminToken)

            // Assert
            #expect(first["status"] as? Int == 3, "\(first)")
            let firstLog = first["log"] as? String ?? ""
            #expect(firstLog.contains("Refusing \(ref): '\(attack.link)' is a symbolic link"), "\(firstLog)")
            #expect(second["status"] as? Int == 3, "\(second)")
            let secondLog = second["log"] as? String ?? ""
            #expect(
                secondLog.contains("Refusing \(ref): destination '\(attack.link)' is a symbolic link"), "\(secondLog)")
            #expect(!FileManager.default.fileExists(atPath: escaped + "/PWNED"))
            #expect(!FileManager.default.fileExists(atPath: server.directory.appending("PWNED").path))
            #expect(await Self.stagingDirectories(server: server).isEmpty)
            #expect(await server.isAnswering())
        }
    }

    @Test("honest screenshots land in media and are served below /repo", arguments: TestEnvironment.databases)
    func honestScreenshotsArePublished(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let existing = server.repoPath.appendingPathComponent("media/org.test.Hello/older.png")
            try Self.write("older", to: existing)
            try Self.write("stale", to: server.repoPath.appendingPathComponent("media/org.test.Hello/1/shot.png"))
            let build = try await Self.pushedBuild(server: server) { tree in
                try Self.write("shot", to: tree.appendingPathComponent("org.test.Hello/1/shot.png"))
                try Self.write("shot", to: tree.appendingPathComponent("org.test.Hello/2/same-content.png"))
            }

            // Act
            let job = try await Management.publishJob(server, build: build, token: server.adminToken)
            let served = try await HTTP.request("GET", server.url("/repo/stable/media/org.test.Hello/1/shot.png"))

            // Assert
            #expect(job["status"] as? Int == 2, "\(job)")
            #expect((job["log"] as? String ?? "").contains("extracting screenshots/"))
            #expect(served.status == 200)
            #expect(served.text == "shot")
            #expect(
                try String(
                    contentsOf: server.repoPath.appendingPathComponent("media/org.test.Hello/2/same-content.png"),
                    encoding: .utf8) == "shot")
            #expect(try String(contentsOf: existing, encoding: .utf8) == "older")
            #expect(await Self.stagingDirectories(server: server).isEmpty)
        }
    }

    @Test(
        "a media directory that is a symlink to another disk receives the screenshots and serves them",
        arguments: TestEnvironment.databases)
    func symlinkedMediaDirectoryIsWrittenInto(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let disk = server.directory.appending("other-disk/media")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: server.repoPath.appendingPathComponent("media").path, withDestinationPath: disk.path)
            let build = try await Self.pushedBuild(server: server) { tree in
                try Self.write("shot", to: tree.appendingPathComponent("org.test.Hello/shot.png"))
            }

            // Act
            let job = try await Management.publishJob(server, build: build, token: server.adminToken)
            let served = try await HTTP.request("GET", server.url("/repo/stable/media/org.test.Hello/shot.png"))

            // Assert
            #expect(job["status"] as? Int == 2, "\(job)")
            #expect(served.status == 200 && served.text == "shot", "\(served.status) \(served.text)")
            let landed = disk.appendingPathComponent("org.test.Hello/shot.png")
            #expect(try String(contentsOf: landed, encoding: .utf8) == "shot")
            #expect(
                try FileManager.default.destinationOfSymbolicLink(
                    atPath: server.repoPath.appendingPathComponent("media").path) == disk.path)
        }
    }

    // MARK: - Binding

    /// How many `app/` refs of the screenshots' arch a build without app id holds.
    enum AppRefs: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case none, one, several
        var testDescription: String { rawValue }
    }

    @Test(
        "screenshots of a build without app id need its one app ref covered, global access for none, never several",
        arguments: TestEnvironment.databases, AppRefs.allCases)
    func screenshotsAreBoundToTheBuildsApp(database: DatabaseKind, appRefs: AppRefs) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let build = try await Management.object(
                server, "POST", "/api/v1/build", token: server.adminToken, json: ["repo": "stable"])
            let id = try #require(build["id"] as? Int)
            let appIDs: [String] =
                switch appRefs {
                case .none: []
                case .one: ["org.test.Hello"]
                case .several: ["org.test.Hello", "org.test.Other"]
                }
            for appID in appIDs {
                let added = try await Self.addRef("app/\(appID)/x86_64/stable", build: id, server: server)
                #expect(added.status == 200, "\(added.text)")
            }
            // An app ref of another arch never counts.
            let other = try await Self.addRef("app/org.test.Third/aarch64/stable", build: id, server: server)
            #expect(other.status == 200, "\(other.text)")
            let covering = try Management.token(scope: ["upload"], prefixes: ["org.test.Hello"])
            let foreign = try Management.token(scope: ["upload"], prefixes: ["org.foreign"])

            // Act
            let byCovering = try await Self.addRef("screenshots/x86_64", build: id, server: server, token: covering)
            let byForeign = try await Self.addRef("screenshots/x86_64", build: id, server: server, token: foreign)
            let byGlobal = try await Self.addRef(
                "screenshots/x86_64", build: id, server: server, token: server.adminToken)

            // Assert
            switch appRefs {
            case .none:
                expectError(byCovering, status: 403, type: "token-insufficient")
                expectError(byForeign, status: 403, type: "token-insufficient")
                #expect(byGlobal.status == 200, "\(byGlobal.text)")
            case .one:
                #expect(byCovering.status == 200, "\(byCovering.text)")
                expectError(byForeign, status: 403, type: "token-insufficient")
                #expect(byGlobal.status == 200, "\(byGlobal.text)")
            case .several:
                expectError(byCovering, status: 403, type: "token-insufficient")
                expectError(byForeign, status: 403, type: "token-insufficient")
                expectError(byGlobal, status: 403, type: "token-insufficient")
            }
        }
    }

    // MARK: - Helpers

    /// create → push → commit of a copy of the fixture app with a `screenshots/<arch>` commit made from the tree
    /// `fill` writes; returns the build id, ready to publish.
    static func pushedBuild(server: TestServer, fill: (URL) throws -> Void) async throws -> Int {
        let work = try TempDirectory(prefix: "flat-manager-shots")
        let repo = work.appending("repo")
        try FileManager.default.copyItem(at: try await FixtureRepo.shared.repository(version: "1"), to: repo)
        let tree = work.appending("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try fill(tree)
        try await ProcessRunner.check(
            try Management.tool("ostree"),
            ["--repo=\(repo.path)", "commit", "--branch=screenshots/\(try await arch())", "--tree=dir=\(tree.path)"])
        let client = try Client(token: server.adminToken)
        let buildURL = try await client.createBuild(managerURL: server.managerURL)
        try await client.check(["push", buildURL, repo.path])
        try await client.check(["commit", "--wait", buildURL])
        return try Management.buildID(buildURL)
    }

    static func arch() async throws -> String {
        try await ProcessRunner.check(try Management.tool("flatpak"), ["--default-arch"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    static func addRef(
        _ ref: String, build: Int, server: TestServer, token: String? = nil
    ) async throws -> HTTPResponse {
        try await Management.call(
            server, "POST", "/api/v1/build/\(build)/build_ref", token: token ?? server.adminToken,
            json: ["ref": ref, "commit": String(repeating: "ab", count: 32)])
    }

    /// Staging directories left in any build repository (there must be none after a publish).
    static func stagingDirectories(server: TestServer) async -> [String] {
        let base = server.buildRepoBase.path
        let builds = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return builds.flatMap { build in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(build)/tmp")) ?? [])
                .filter { $0.hasPrefix(".screenshots-") }
        }
    }
}
