import Crypto
import FlatManagerCore
import Foundation
import Testing

@Suite("TokenSigner")
struct TokenSignerTests {
    static let now = Date(timeIntervalSince1970: 1_714_566_605)
    static let claims = Claims(
        sub: "build", exp: 1_714_570_205, name: "default", scope: ["build", "upload"], prefixes: [""],
        repos: ["stable"], branches: ["stable"], tokenType: "app")

    /// A token with the given header and payload JSON, correctly HMAC-SHA256-signed with `key` (Crypto is a
    /// dependency of Core, so it is available here).
    static func handMade(header: String, payload: String, key: String = "secret") -> String {
        let input = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return input + "." + Base64URL.encode(Data(mac))
    }

    @Test func aHandMadeTokenWithTheStandardHeaderVerifies() throws {
        let token = Self.handMade(
            header: #"{"typ":"JWT","alg":"HS256"}"#, payload: Self.claims.payloadJSON(style: .gentoken))

        let claims = try TokenSigner(key: Data("secret".utf8)).verify(token, now: Self.now)

        #expect(claims == Self.claims)
    }

    @Test func aSignedTokenVerifiesWithTheSameKey() throws {
        let signer = TokenSigner(key: Data("secret".utf8))

        let claims = try signer.verify(signer.sign(Self.claims), now: Self.now)

        #expect(claims == Self.claims)
    }

    @Test func theUpstreamExampleSecretIsTheKeySecret() throws {
        let fromConfig = try #require(TokenSigner(base64Secret: "c2VjcmV0"))
        let token = TokenSigner(key: Data("secret".utf8)).sign(Self.claims, style: .gentoken)

        let claims = try fromConfig.verify(token, now: Self.now)

        #expect(claims.sub == "build")
    }

    @Test func aTokenSignedWithAnotherKeyIsInvalid() {
        let token = TokenSigner(key: Data("other".utf8)).sign(Self.claims)

        #expect(throws: TokenError.invalidClaims) {
            try TokenSigner(key: Data("secret".utf8)).verify(token, now: Self.now)
        }
    }

    @Test(arguments: [#"{"typ":"JWT","alg":"none"}"#, #"{"typ":"JWT","alg":"HS512"}"#])
    func aTokenWithAnotherAlgorithmIsInvalid(header: String) {
        let token = Self.handMade(header: header, payload: Self.claims.payloadJSON(style: .complete))

        #expect(throws: TokenError.invalidClaims) {
            try TokenSigner(key: Data("secret".utf8)).verify(token, now: Self.now)
        }
    }

    @Test func anUnsignedAlgNoneTokenIsInvalid() {
        let header = Base64URL.encode(Data(#"{"typ":"JWT","alg":"none"}"#.utf8))
        let payload = Base64URL.encode(Data(Self.claims.payloadJSON(style: .complete).utf8))

        #expect(throws: TokenError.invalidClaims) {
            try TokenSigner(key: Data("secret".utf8)).verify(header + "." + payload + ".", now: Self.now)
        }
    }

    @Test func aTamperedPayloadIsInvalid() {
        let signer = TokenSigner(key: Data("secret".utf8))
        let parts = signer.sign(Self.claims).split(separator: ".").map(String.init)
        var widened = Self.claims
        widened.scope.append("publish")
        let forged =
            parts[0] + "." + Base64URL.encode(Data(widened.payloadJSON(style: .complete).utf8)) + "." + parts[2]

        #expect(throws: TokenError.invalidClaims) { try signer.verify(forged, now: Self.now) }
    }

    @Test func anExpiredTokenIsRejectedAsExpired() {
        let signer = TokenSigner(key: Data("secret".utf8))
        let token = signer.sign(Self.claims)

        #expect(throws: TokenError.expired) {
            try signer.verify(token, now: Date(timeIntervalSince1970: Double(Self.claims.exp + 1)))
        }
    }

    @Test(arguments: [
        #"{"exp":1714570205,"scope":[]}"#,
        #"{"sub":"build","scope":[]}"#,
        #"{"sub":"build","exp":"1714570205"}"#,
        #"{"sub":"build","exp":1714570205,"scope":"build"}"#,
        #"{"sub":"build","exp":1714570205,"jti":5}"#,
    ])
    func aPayloadWithMissingOrIllTypedClaimsIsInvalid(payload: String) {
        let signer = TokenSigner(key: Data("secret".utf8))

        #expect(throws: TokenError.invalidClaims) {
            try signer.verify(signer.sign(payloadJSON: payload), now: Self.now)
        }
    }

    @Test func unknownClaimsAreIgnoredAndNullJTIMeansNoID() throws {
        let signer = TokenSigner(key: Data("secret".utf8))
        let payload = #"{"sub":"build","exp":1714570205,"jti":null,"iat":1,"custom":{"a":1}}"#

        let claims = try signer.verify(signer.sign(payloadJSON: payload), now: Self.now)

        #expect(claims.jti == nil)
        #expect(claims.scope.isEmpty)
        #expect(claims.repos.isEmpty)
    }

    @Test func malformedTokensAreInvalid() {
        let signer = TokenSigner(key: Data("secret".utf8))

        for token in ["", "abc", "a.b", "a.b.c.d", "!!.??.**"] {
            #expect(throws: TokenError.invalidClaims) { try signer.verify(token, now: Self.now) }
        }
    }

    @Test func theHeaderIsUpstreams() throws {
        let token = TokenSigner(key: Data("secret".utf8)).sign(Self.claims)
        let header = try #require(Base64URL.decode(token.split(separator: ".")[0]))

        #expect(String(decoding: header, as: UTF8.self) == #"{"typ":"JWT","alg":"HS256"}"#)
    }

    @Test func aSecretThatIsNotBase64GivesNoSigner() {
        #expect(TokenSigner(base64Secret: "not base64!") == nil)
    }
}
