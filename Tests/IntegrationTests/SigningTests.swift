import Foundation
import TestSupport
import Testing

/// GPG signing with a throwaway key: published commits and the summary are signed with the repo's `gpg-key`,
/// build repos with `build-gpg-key`, and a flatpak user that trusts only that key installs and updates.
@Suite("GPG signing", .enabled(if: TestEnvironment.hasOSTree))
struct SigningTests {
    @Test(
        "a signed repository is added with --gpg-import, and install and update verify its signatures",
        arguments: TestEnvironment.databases)
    func signedRepositoryInstallsAndUpdates(database: DatabaseKind) async throws {
        // Arrange
        let key = try await ThrowawayGPGKey()
        try await withTestServer(database: database) { server in
            try await server.reconfigure(
                top: #"{"gpg-homedir": "\#(key.home.path)", "build-gpg-key": "\#(key.fingerprint)"}"#,
                stableRepo: #"{"gpg-key": "\#(key.fingerprint)"}"#)
            let client = try Client(token: server.adminToken)
            let user = try FlatpakUser()

            // Act
            try await publish(version: "1", to: server, with: client)
            try await user.remoteAddVerified(url: server.url("/repo/stable").absoluteString, keyFile: key.publicKeyFile)
            try await user.install(FixtureRepo.appID)
            let first = try await user.run(FixtureRepo.appID)
            try await publish(version: "2", to: server, with: client)
            try await user.update()
            let second = try await user.run(FixtureRepo.appID)

            // Assert
            #expect(first == "Hello 1")
            #expect(second == "Hello 2")
            #expect(FileManager.default.fileExists(atPath: server.repoPath.appendingPathComponent("summary.sig").path))
        }
    }

    @Test(
        "with two repo keys both sign: a user trusting either one installs, the .flatpakrepo and .flatpakref carry both"
    )
    func twoRepoKeysBothSign() async throws {
        // Arrange
        let key = try await ThrowawayGPGKey()
        let second = try await key.addKey(name: "Flat Manager Second Key")
        try await withTestServer(database: .sqlite) { server in
            try await server.reconfigure(
                top: #"{"gpg-homedir": "\#(key.home.path)"}"#,
                stableRepo: #"""
                    {"gpg-key": ["\#(key.fingerprint)", "\#(second.fingerprint)"],
                     "runtime-repo-url": "\#(server.url("/repo/stable/stable.flatpakrepo").absoluteString)"}
                    """#)
            let client = try Client(token: server.adminToken)
            let trustsFirst = try FlatpakUser()
            let trustsSecond = try FlatpakUser()

            // Act
            try await publish(version: "1", to: server, with: client)
            try await trustsFirst.remoteAddVerified(
                url: server.url("/repo/stable").absoluteString, keyFile: key.publicKeyFile)
            try await trustsSecond.remoteAddVerified(
                url: server.url("/repo/stable").absoluteString, keyFile: second.publicKeyFile)
            try await trustsSecond.install(FixtureRepo.appID)
            let running = try await trustsSecond.run(FixtureRepo.appID)
            let fromRef = try FlatpakUser()
            try await fromRef.flatpak([
                "install", "--user", "-y", "--noninteractive", "--from",
                server.url("/repo/stable/appstream/\(FixtureRepo.appID).flatpakref").absoluteString,
            ])
            let runningFromRef = try await fromRef.run(FixtureRepo.appID)
            let repoFile = try await HTTP.request("GET", server.url("/repo/stable/stable.flatpakrepo"))
            let gpgKey = repoFile.text.split(separator: "\n").first { $0.hasPrefix("GPGKey=") }?.dropFirst(7) ?? ""
            let exported = Data(base64Encoded: String(gpgKey)) ?? Data()
            let first = try Data(contentsOf: key.publicKeyFile)
            let secondKey = try Data(contentsOf: second.publicKeyFile)

            // Assert
            #expect(running == "Hello 1")
            #expect(runningFromRef == "Hello 1", "installed from the .flatpakref, trusting the keys it carries")
            #expect(repoFile.status == 200, "\(repoFile.text)")
            #expect(exported.range(of: first) != nil, "the first public key is in GPGKey")
            #expect(exported.range(of: secondKey) != nil, "the second public key is in GPGKey")
        }
    }

    @Test("a user given the wrong key cannot add the signed repository")
    func wrongKeyFailsAtRemoteAdd() async throws {
        // Arrange
        let key = try await ThrowawayGPGKey()
        let otherKey = try await ThrowawayGPGKey(name: "Someone Else")
        try await withTestServer(database: .sqlite) { server in
            try await server.reconfigure(
                top: #"{"gpg-homedir": "\#(key.home.path)", "build-gpg-key": "\#(key.fingerprint)"}"#,
                stableRepo: #"{"gpg-key": "\#(key.fingerprint)"}"#)
            let client = try Client(token: server.adminToken)
            try await publish(version: "1", to: server, with: client)
            let user = try FlatpakUser()

            // Act
            let result = try await ProcessRunner.run(
                user.flatpak,
                [
                    "remote-add", "--user", "--gpg-import=\(otherKey.publicKeyFile.path)", "test",
                    server.url("/repo/stable").absoluteString,
                ], environment: user.environment, timeout: .seconds(120))

            // Assert
            #expect(!result.succeeded, "remote-add with the wrong key succeeded: \(result.stdout)")
            // flatpak names the untrusted signature: made by the repo's key (its 64-bit key id), not the user's.
            #expect(result.stderr.contains(String(key.fingerprint.suffix(16))), "\(result.stderr)")
        }
    }
}
