import Crypto
import Foundation

/// Ours (issue #15): the asymmetric token algorithms. A build service holds the private key and mints tokens; the
/// repository server holds only public keys (`token-public-keys`), none of which can mint.
public enum TokenAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Ed25519 (RFC 8037's JWS name).
    case edDSA = "EdDSA"
    /// ECDSA on P-256 with SHA-256; the JWS signature is `r || s`, 64 bytes.
    case es256 = "ES256"
}

/// What is wrong with a key given as PEM text.
public struct TokenKeyError: Error, Sendable, Equatable {
    public var message: String
}

/// A public key that verifies tokens of one algorithm, named by its `kid`.
public struct TokenPublicKey: Sendable, Equatable {
    public let kid: String
    public let algorithm: TokenAlgorithm
    private let verifier: Verifier
    /// The key's bytes, for equality (a configuration compares equal when its keys do).
    private let raw: Data

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.kid == rhs.kid && lhs.algorithm == rhs.algorithm && lhs.raw == rhs.raw
    }

    private enum Verifier: Sendable {
        case ed25519(Curve25519.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    /// Reads a `PUBLIC KEY` PEM block (SubjectPublicKeyInfo), as `openssl pkey -pubout` writes it.
    public init(kid: String, algorithm: TokenAlgorithm, pem: String) throws(TokenKeyError) {
        self.kid = kid
        self.algorithm = algorithm
        switch algorithm {
        case .edDSA:
            guard let der = PEMBlock.der(pem, label: "PUBLIC KEY"), der.count == 44,
                der.prefix(12).elementsEqual(PEMBlock.ed25519PublicPrefix),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))
            else { throw TokenKeyError(message: "not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)") }
            verifier = .ed25519(key)
            raw = key.rawRepresentation
        case .es256:
            guard let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else {
                throw TokenKeyError(message: "not a P-256 public key in PEM (-----BEGIN PUBLIC KEY-----)")
            }
            verifier = .p256(key)
            raw = key.rawRepresentation
        }
    }

    /// Whether `signature` (the JWS encoding of this algorithm) signs `input` with this key.
    func isValidSignature(_ signature: Data, for input: Data) -> Bool {
        switch verifier {
        case .ed25519(let key):
            return signature.count == 64 && key.isValidSignature(signature, for: input)
        case .p256(let key):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(signature, for: SHA256.hash(data: input))
        }
    }
}

/// A private key that mints tokens (`gentoken --algorithm ... --private-key FILE`).
public struct TokenPrivateKey: Sendable {
    public let algorithm: TokenAlgorithm
    private let signer: Signer

    private enum Signer: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    /// Reads a `PRIVATE KEY` PEM block (PKCS #8, as `openssl genpkey` writes it); for ES256 also `EC PRIVATE KEY`.
    public init(algorithm: TokenAlgorithm, pem: String) throws(TokenKeyError) {
        self.algorithm = algorithm
        switch algorithm {
        case .edDSA:
            guard let der = PEMBlock.der(pem, label: "PRIVATE KEY"), der.count == 48,
                der.prefix(16).elementsEqual(PEMBlock.ed25519PrivatePrefix),
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
            else { throw TokenKeyError(message: "not an Ed25519 private key in PEM (-----BEGIN PRIVATE KEY-----)") }
            signer = .ed25519(key)
        case .es256:
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                throw TokenKeyError(message: "not a P-256 private key in PEM (-----BEGIN PRIVATE KEY-----)")
            }
            signer = .p256(key)
        }
    }

    /// The JWS signature of `input`.
    func signature(for input: Data) throws -> Data {
        switch signer {
        case .ed25519(let key): return try key.signature(for: input)
        case .p256(let key): return try key.signature(for: SHA256.hash(data: input)).rawRepresentation
        }
    }

    /// A compact JWT of `claims` with this key, `kid` in its header when given.
    public func sign(_ claims: Claims, kid: String?, style: Claims.PayloadStyle = .complete) throws -> String {
        var header = "{\"typ\":\"JWT\",\"alg\":\"\(algorithm.rawValue)\""
        if let kid { header += ",\"kid\":" + JSONText.string(kid) }
        header += "}"
        let signingInput =
            Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(claims.payloadJSON(style: style).utf8))
        return signingInput + "." + Base64URL.encode(try signature(for: Data(signingInput.utf8)))
    }
}

/// The DER bytes of one PEM block.
enum PEMBlock {
    /// SubjectPublicKeyInfo of an Ed25519 key up to the key bytes (RFC 8410).
    static let ed25519PublicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
    /// PKCS #8 of an Ed25519 key up to the key bytes (RFC 8410).
    static let ed25519PrivatePrefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    static func der(_ pem: String, label: String) -> Data? {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let start = pem.range(of: begin), let stop = pem.range(of: end, range: start.upperBound..<pem.endIndex)
        else { return nil }
        let body = pem[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body))
    }
}
