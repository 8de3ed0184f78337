import Crypto
import Foundation

/// Why a presented token was refused with 401 (api.md §1.2). `message` is upstream's text.
public enum TokenError: Error, Sendable, Equatable {
    case noAuthorizationHeader
    case headerTooShort
    case headerNotString
    case notBearer
    case noTokenValue
    case invalidClaims
    case expired
    case revoked

    public var message: String {
        switch self {
        case .noAuthorizationHeader: "No Authorization header"
        case .headerTooShort: "Header length too short"
        case .headerNotString: "Cannot convert header to string"
        case .notBearer: "Token scheme is not Bearer"
        case .noTokenValue: "No token value in header"
        case .invalidClaims: "Invalid token claims"
        case .expired: "Token is expired"
        case .revoked: "Token has been revoked"
        }
    }
}

/// Signs and verifies HS256 JWTs with a key of any length (swift-crypto's HMAC; JWTKit refuses short keys, and
/// upstream's example secret is six bytes).
///
/// Ours: with `publicKeys` (config `token-public-keys`), EdDSA and ES256 tokens signed by the matching private key
/// are accepted too (the header's `kid` picks the key when present); HS256 tokens still need the secret.
public struct TokenSigner: Sendable {
    let key: SymmetricKey
    /// Keys that verify asymmetric tokens; empty: only HS256, as upstream.
    public var publicKeys: [TokenPublicKey] = []

    public init(key: Data) {
        self.key = SymmetricKey(data: key)
    }

    /// A signer for a config `secret`: standard base64 of the key bytes. Nil when the text is not valid base64.
    public init?(base64Secret: String) {
        guard let data = Data(base64Encoded: base64Secret.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return nil
        }
        self.init(key: data)
    }

    static let header = Base64URL.encode(Data("{\"typ\":\"JWT\",\"alg\":\"HS256\"}".utf8))

    /// A compact JWT for the payload JSON text.
    public func sign(payloadJSON: String) -> String {
        let signingInput = Self.header + "." + Base64URL.encode(Data(payloadJSON.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Data(mac))
    }

    public func sign(_ claims: Claims, style: Claims.PayloadStyle = .complete) -> String {
        sign(payloadJSON: claims.payloadJSON(style: style))
    }

    /// Verifies signature, algorithm, claim types and expiry (no leeway, as 0.5).
    public func verify(_ token: String, now: Date = Date()) throws(TokenError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Base64URL.decode(parts[0]),
            let payloadData = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw .invalidClaims }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else { throw .invalidClaims }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard isValid(signature, of: signingInput, header: header) else { throw .invalidClaims }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payloadData) else { throw .invalidClaims }
        if claims.exp < Int64(now.timeIntervalSince1970) { throw .expired }
        return claims
    }

    /// HS256 with the secret, or an asymmetric algorithm with a configured key of that algorithm (and `kid`).
    private func isValid(_ signature: Data, of input: Data, header: Header) -> Bool {
        if header.alg == "HS256" {
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        }
        guard let algorithm = TokenAlgorithm(rawValue: header.alg) else { return false }
        return publicKeys.contains { key in
            key.algorithm == algorithm && (header.kid == nil || header.kid == key.kid)
                && key.isValidSignature(signature, for: input)
        }
    }

    private struct Header: Decodable {
        var alg: String
        var kid: String?
    }
}

/// Unpadded base64url, as JWTs use.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// Reads the bearer token out of an `Authorization` header value, with upstream's checks and messages.
public enum AuthorizationHeader {
    /// The token text with `tokenPrefix` removed when present.
    public static func token(from value: String, tokenPrefix: String?) throws(TokenError) -> String {
        guard value.utf8.count >= 8 else { throw .headerTooShort }
        guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F || $0 == "\t" }) else {
            throw .headerNotString
        }
        guard let space = value.firstIndex(of: " ") else { throw .noTokenValue }
        guard value[..<space] == "Bearer" else { throw .notBearer }
        var token = String(value[value.index(after: space)...])
        if let tokenPrefix, !tokenPrefix.isEmpty, token.hasPrefix(tokenPrefix) {
            token.removeFirst(tokenPrefix.count)
        }
        return token
    }
}
