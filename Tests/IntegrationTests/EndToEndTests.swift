import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #2's main flow with our own client, server and real flatpak: a build is created, pushed, committed and
/// published; a flatpak user installs and runs it, then updates to the next published build.
@Suite("End to end", .enabled(if: TestEnvironment.hasOSTree))
struct EndToEndTests {
    @Test(
        "a published app installs and runs with flatpak, and a second build updates it",
        arguments: TestEnvironment.databases)
    func publishedAppInstallsRunsAndUpdates(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let client = try Client(token: server.adminToken)
            let user = try FlatpakUser()

            // Act
            try await publish(version: "1", to: server, with: client)
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let first = try await user.run(FixtureRepo.appID)
            try await publish(version: "2", to: server, with: client)
            try await user.update()
            let second = try await user.run(FixtureRepo.appID)

            // Assert
            #expect(first == "Hello 1")
            #expect(second == "Hello 2")
            #expect(await server.isAnswering())
        }
    }

    @Test("the commit job checks out the build's appstream branch, as ostree checks it out")
    func commitChecksOutAppstream() async throws {
        try await withTestServer(database: .sqlite) { server in
            let client = try Client(token: server.adminToken)
            let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
            try await client.check(["commit", "--wait", buildURL])
            let build = server.buildRepoBase.appendingPathComponent(String(try Management.buildID(buildURL)))
            let arch = try await ProcessRunner.check(try Management.tool("flatpak"), ["--default-arch"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let reference = try TempDirectory(prefix: "flat-manager-appstream")
            let theirs = reference.appending("appstream")
            try await ProcessRunner.check(
                try Management.tool("ostree"),
                [
                    "--repo=\(build.path)", "checkout", "--user-mode", "--union", "--bareuseronly-dirs",
                    "appstream/\(arch)", theirs.path,
                ])
            let ours = try Self.files(in: build.appendingPathComponent("appstream/\(arch)"))
            #expect(ours.keys.contains("appstream.xml.gz"))
            #expect(ours == (try Self.files(in: theirs)))
        }
    }

    /// Every file and directory below `root` by relative path: its permission bits and content.
    static func files(in root: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        let manager = FileManager.default
        for case let relative as String in manager.enumerator(atPath: root.path) ?? NSEnumerator() {
            let path = root.appendingPathComponent(relative).path
            let attributes = try manager.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            let content =
                (attributes[.type] as? FileAttributeType) == .typeDirectory
                ? "dir" : (manager.contents(atPath: path)?.base64EncodedString() ?? "unreadable")
            result[relative] = mode + " " + content
        }
        return result
    }

    @Test("the server stops gracefully on SIGTERM", arguments: TestEnvironment.databases)
    func serverStopsOnSIGTERM(database: DatabaseKind) async throws {
        // Arrange
        let server = try await TestServer(database: database)

        // Act
        let status = await server.stop()

        // Assert
        let output = await server.output()
        #expect(status == 0, "\(output)")
    }
}

/// create → push → commit → publish (waiting for the publish and the update-repo job) with our client.
@discardableResult
func publish(version: String, to server: TestServer, with client: Client) async throws -> String {
    let buildURL = try await Management.pushedBuild(version: version, server: server, client: client)
    try await client.check(["commit", "--wait", buildURL])
    try await client.check(["publish", "--wait", "--wait-update", buildURL])
    return buildURL
}
