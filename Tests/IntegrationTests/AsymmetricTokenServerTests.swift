import Crypto
import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #15 point 5, end to end: a server configured with public keys only accepts EdDSA and ES256 tokens minted
/// by `gentoken --algorithm ... --private-key FILE` (the build service's side), refuses one signed with another key,
/// and keeps accepting HS256 tokens of its secret.
@Suite("Asymmetric tokens against a real server", .enabled(if: TestEnvironment.hasOSTree))
struct AsymmetricTokenServerTests {
    /// An Ed25519 key pair as PEM (PKCS #8 private, SubjectPublicKeyInfo public), as `openssl genpkey` writes them.
    static func ed25519PEM() -> (private: String, public: String) {
        let key = Curve25519.Signing.PrivateKey()
        let privatePrefix: [UInt8] = [
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ]
        let publicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
        func pem(_ label: String, _ der: Data) -> String {
            "-----BEGIN \(label)-----\n\(der.base64EncodedString())\n-----END \(label)-----\n"
        }
        return (
            pem("PRIVATE KEY", Data(privatePrefix) + key.rawRepresentation),
            pem("PUBLIC KEY", Data(publicPrefix) + key.publicKey.rawRepresentation)
        )
    }

    static func mint(_ server: TestServer, algorithm: String, keyFile: URL, kid: String) async throws -> String {
        let gentoken = try Binaries.url(of: Binaries.gentoken, in: try Binaries.directory())
        let result = try await ProcessRunner.check(
            gentoken,
            [
                "--algorithm", algorithm, "--private-key", keyFile.path, "--kid", kid, "--name", "build-service",
                "--scope", "build", "upload", "--prefix", "", "--repo", "",
            ])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "EdDSA and ES256 tokens of configured keys create builds, another key's token is refused, HS256 still works",
        arguments: TestEnvironment.databases)
    func asymmetricTokensAreVerified(database: DatabaseKind) async throws {
        // Arrange
        let keys = try TempDirectory(prefix: "flat-manager-token-keys")
        let ed = Self.ed25519PEM()
        let stranger = Self.ed25519PEM()
        let ec = P256.Signing.PrivateKey()
        try Data(ed.private.utf8).write(to: keys.appending("ed.pem"))
        try Data(stranger.private.utf8).write(to: keys.appending("stranger.pem"))
        try Data(ec.pemRepresentation.utf8).write(to: keys.appending("ec.pem"))
        let server = try await Management.server(database: database) { config in
            config["token-public-keys"] = [
                ["kid": "svc-ed", "alg": "EdDSA", "key": ed.public],
                ["kid": "svc-ec", "alg": "ES256", "key": ec.publicKey.pemRepresentation],
            ]
        }
        try await withServerOutputOnFailure(server) {
            let edToken = try await Self.mint(
                server, algorithm: "ed25519", keyFile: keys.appending("ed.pem"), kid: "svc-ed")
            let ecToken = try await Self.mint(
                server, algorithm: "es256", keyFile: keys.appending("ec.pem"), kid: "svc-ec")
            let strangerToken = try await Self.mint(
                server, algorithm: "ed25519", keyFile: keys.appending("stranger.pem"), kid: "svc-ed")

            // Act
            let byEd = try await Management.call(
                server, "POST", "/api/v1/build", token: edToken, json: ["repo": "stable"])
            let byEc = try await Management.call(
                server, "POST", "/api/v1/build", token: ecToken, json: ["repo": "stable"])
            let byStranger = try await Management.call(
                server, "POST", "/api/v1/build", token: strangerToken, json: ["repo": "stable"])
            let bySecret = try await Management.call(
                server, "POST", "/api/v1/build", token: server.adminToken, json: ["repo": "stable"])

            // Assert
            #expect(edToken.split(separator: ".").count == 3)
            #expect(byEd.status == 200, "\(byEd.text)")
            #expect(byEc.status == 200, "\(byEc.text)")
            #expect(byStranger.status == 401, "\(byStranger.text)")
            #expect(byStranger.text.contains("invalid-token"), "\(byStranger.text)")
            #expect(bySecret.status == 200, "\(bySecret.text)")
        }
    }
}
