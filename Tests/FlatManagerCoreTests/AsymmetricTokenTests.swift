import Crypto
import FlatManagerCore
import Foundation
import Testing

/// Ours (issue #15): EdDSA and ES256 tokens verified with configured public keys. The keys below were made with
/// `openssl genpkey` for these tests only, so the PEM forms operators will use are what is parsed.
@Suite("Asymmetric tokens")
struct AsymmetricTokenTests {
    static let now = TokenSignerTests.now
    static let claims = TokenSignerTests.claims

    static let ed25519Private = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIODVkI2aq8rQvtK7yQAl3fDB8FqsnjGxjJ+yiNzvl2Ua
        -----END PRIVATE KEY-----
        """
    static let ed25519Public = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAITeaPmkFW73bJ4LKrKOE8PxlBlNcA+RskN4hK94PxCc=
        -----END PUBLIC KEY-----
        """
    static let p256Private = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgudMuemhBmBFu3bEa
        bj+PWNK+0Oy/BkcDBEp2XkLpDqyhRANCAATuW4ybFDfxFW3DPXD3ekP6ibBPFKny
        pxxUPCk+cMkHJvsEC5WURcXN0BEKRWRYwZcnZhVCdO3EacxGBOcTYyRL
        -----END PRIVATE KEY-----
        """
    static let p256Public = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7luMmxQ38RVtwz1w93pD+omwTxSp
        8qccVDwpPnDJByb7BAuVlEXFzdARCkVkWMGXJ2YVQnTtxGnMRgTnE2MkSw==
        -----END PUBLIC KEY-----
        """

    static func signer(_ keys: [TokenPublicKey]) -> TokenSigner {
        var signer = TokenSigner(key: Data("secret".utf8))
        signer.publicKeys = keys
        return signer
    }

    static func edKey(kid: String = "build-service") throws -> TokenPublicKey {
        try TokenPublicKey(kid: kid, algorithm: .edDSA, pem: ed25519Public)
    }

    static func ecKey(kid: String = "ec") throws -> TokenPublicKey {
        try TokenPublicKey(kid: kid, algorithm: .es256, pem: p256Public)
    }

    @Test("an Ed25519 token verifies with its public key, with or without a kid")
    func ed25519TokenVerifies() throws {
        let key = try TokenPrivateKey(algorithm: .edDSA, pem: Self.ed25519Private)
        let signer = Self.signer([try Self.ecKey(), try Self.edKey()])

        #expect(try signer.verify(key.sign(Self.claims, kid: "build-service"), now: Self.now) == Self.claims)
        #expect(try signer.verify(key.sign(Self.claims, kid: nil), now: Self.now) == Self.claims)
    }

    @Test("an ES256 token verifies with its public key")
    func es256TokenVerifies() throws {
        let key = try TokenPrivateKey(algorithm: .es256, pem: Self.p256Private)
        let signer = Self.signer([try Self.edKey(), try Self.ecKey()])

        #expect(try signer.verify(key.sign(Self.claims, kid: "ec"), now: Self.now) == Self.claims)
    }

    @Test("a token signed with another key, a wrong kid or no configured key is refused; HS256 still works")
    func otherKeysAreRefused() throws {
        let other = try TokenPrivateKey(
            algorithm: .edDSA, pem: Self.pkcs8(Curve25519.Signing.PrivateKey().rawRepresentation))
        let ours = try TokenPrivateKey(algorithm: .edDSA, pem: Self.ed25519Private)
        let signer = Self.signer([try Self.edKey()])

        #expect(throws: TokenError.invalidClaims) {
            try signer.verify(other.sign(Self.claims, kid: nil), now: Self.now)
        }
        #expect(throws: TokenError.invalidClaims) {
            try signer.verify(ours.sign(Self.claims, kid: "someone-else"), now: Self.now)
        }
        #expect(throws: TokenError.invalidClaims) {
            try Self.signer([]).verify(ours.sign(Self.claims, kid: nil), now: Self.now)
        }
        #expect(throws: TokenError.invalidClaims) {
            // The same key named as ES256 does not verify an EdDSA signature.
            let header = Base64URL.encode(Data(#"{"alg":"ES256"}"#.utf8))
            let token = try ours.sign(Self.claims, kid: nil).split(separator: ".")
            _ = try signer.verify("\(header).\(token[1]).\(token[2])", now: Self.now)
        }
        #expect(try signer.verify(signer.sign(Self.claims), now: Self.now) == Self.claims)
    }

    @Test("an expired asymmetric token is refused as expired")
    func expiredTokenIsRefused() throws {
        let key = try TokenPrivateKey(algorithm: .edDSA, pem: Self.ed25519Private)
        var claims = Self.claims
        claims.exp = Int64(Self.now.timeIntervalSince1970) - 1

        #expect(throws: TokenError.expired) {
            try Self.signer([try Self.edKey()]).verify(key.sign(claims, kid: nil), now: Self.now)
        }
    }

    @Test("keys that are not PEM of their algorithm are refused with a message")
    func badKeysAreRefused() {
        #expect(throws: TokenKeyError.self) { try TokenPublicKey(kid: "k", algorithm: .edDSA, pem: Self.p256Public) }
        #expect(throws: TokenKeyError.self) { try TokenPublicKey(kid: "k", algorithm: .es256, pem: Self.ed25519Public) }
        #expect(throws: TokenKeyError.self) { try TokenPublicKey(kid: "k", algorithm: .edDSA, pem: "garbage") }
        #expect(throws: TokenKeyError.self) { try TokenPrivateKey(algorithm: .edDSA, pem: Self.ed25519Public) }
    }

    /// An Ed25519 private key in PKCS #8 PEM, as openssl writes it.
    static func pkcs8(_ raw: Data) -> String {
        let prefix: [UInt8] = [
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ]
        return "-----BEGIN PRIVATE KEY-----\n" + (Data(prefix) + raw).base64EncodedString()
            + "\n-----END PRIVATE KEY-----\n"
    }
}
