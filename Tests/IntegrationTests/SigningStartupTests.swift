import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #4: a signing key the keyring does not have stops the start-up, naming the key and its config key.
@Suite("Signing keys at start-up", .enabled(if: TestEnvironment.hasOSTree))
struct SigningStartupTests {
    @Test("a repo gpg-key missing from the keyring makes the server exit with an error naming it")
    func missingRepoKeyStopsStartup() async throws {
        // Arrange
        let server = try await TestServer(database: .sqlite)
        await server.stop()
        let binary = try Binaries.url(of: Binaries.server, in: try Binaries.directory())
        let homedir = server.directory.appending("empty-gnupg")
        try FileManager.default.createDirectory(at: homedir, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: homedir.path)
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: server.configPath)) as? [String: Any])
        var repos = try #require(json["repos"] as? [String: Any])
        var stable = try #require(repos["stable"] as? [String: Any])
        stable["gpg-key"] = "0123456789ABCDEF"
        repos["stable"] = stable
        json["repos"] = repos
        json["gpg-homedir"] = homedir.path
        let config = server.directory.appending("missing-key.json")
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        var environment = TestServer.serverEnvironment(extraPath: [], additions: [:])
        environment["REPO_CONFIG"] = config.path

        // Act
        let result = try await ProcessRunner.run(
            binary, [], environment: environment, currentDirectory: server.directory.url, timeout: .seconds(120))

        // Assert
        #expect(result.status != 0)
        #expect(result.stderr.contains("0123456789ABCDEF"), "\(result.stderr)")
        #expect(result.stderr.contains("repos.stable.gpg-key"), "\(result.stderr)")
    }
}
