import Foundation
import TestSupport

/// A throwaway GPG keyring with one signing key without passphrase (`gpg --batch --quick-gen-key`), made in a
/// fresh GNUPGHOME. Debian ships `gpg`, not `gpg2`. The keyring's agent is stopped when the object goes away.
final class ThrowawayGPGKey: Sendable {
    let home: TempDirectory
    /// The key's fingerprint (what `gpg-key` in the config names).
    let fingerprint: String
    /// The exported public key (binary), for `flatpak remote-add --gpg-import`.
    let publicKeyFile: URL
    let gpg: URL

    init(name: String = "Flat Manager Test") async throws {
        guard let gpg = TestEnvironment.executable(named: "gpg") else {
            throw TestSupportError.missingPrerequisite("gpg")
        }
        self.gpg = gpg
        // A short path: gpg-agent's socket path must fit in sun_path.
        home = try TempDirectory(prefix: "fm-gpg")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: home.path)
        (fingerprint, publicKeyFile) = try await Self.generateKey(
            name: name, gpg: gpg, home: home, publicKeyFile: home.appending("public.gpg"))
    }

    /// Another signing key in the same keyring; returns its fingerprint and exported public key.
    func addKey(name: String) async throws -> (fingerprint: String, publicKeyFile: URL) {
        try await Self.generateKey(
            name: name, gpg: gpg, home: home, publicKeyFile: home.appending("public-\(UUID().uuidString).gpg"))
    }

    private static func generateKey(
        name: String, gpg: URL, home: TempDirectory, publicKeyFile: URL
    ) async throws -> (fingerprint: String, publicKeyFile: URL) {
        let environment = Self.environment(home: home)
        let uid = "\(name) <test@example.invalid>"
        try await ProcessRunner.check(
            gpg,
            [
                "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, "rsa2048",
                "sign", "never",
            ], environment: environment, timeout: .seconds(120))
        let listing = try await ProcessRunner.check(
            gpg, ["--batch", "--with-colons", "--list-secret-keys", "=\(uid)"], environment: environment)
        guard
            let line = listing.stdout.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }),
            let fingerprint = line.split(separator: ":", omittingEmptySubsequences: false).dropFirst(9).first
        else { throw TestSupportError.unexpected("no fingerprint in gpg output: \(listing.stdout)") }
        try await ProcessRunner.check(
            gpg, ["--batch", "--output", publicKeyFile.path, "--export", String(fingerprint)],
            environment: environment)
        return (String(fingerprint), publicKeyFile)
    }

    static func environment(home: TempDirectory) -> [String: String] {
        var environment = TestEnvironment.environment
        environment["GNUPGHOME"] = home.path
        return environment
    }

    deinit {
        // Best effort: the agent would otherwise linger after its home is removed.
        if let gpgconf = TestEnvironment.executable(named: "gpgconf") {
            let environment = Self.environment(home: home)
            let process = Process()
            process.executableURL = gpgconf
            process.arguments = ["--kill", "gpg-agent"]
            process.environment = environment
            try? process.run()
            process.waitUntilExit()
        }
    }
}

extension FlatpakUser {
    /// `flatpak remote-add --user --gpg-import=KEYFILE NAME URL`: signatures are verified from then on.
    func remoteAddVerified(name: String = "test", url: String, keyFile: URL) async throws {
        try await flatpak(["remote-add", "--user", "--gpg-import=\(keyFile.path)", name, url])
    }
}
