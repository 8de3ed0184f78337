import FlatManagerCore
import Foundation
import Testing

@testable import FlatManagerAPI

@Suite("Verified token memo")
struct VerifiedTokensTests {
    let signer = TokenSigner(key: Data("a key of thirty-two bytes or more!!".utf8))

    func token(exp: Int64, signer: TokenSigner? = nil) -> String {
        let claims = Claims(
            sub: "build", exp: exp, name: "t", jti: nil, scope: ["download"], prefixes: [""], repos: [""],
            branches: ["stable"], tokenType: "app")
        return (signer ?? self.signer).sign(claims)
    }

    @Test("a remembered token is still refused once expired, and a forged one is never remembered")
    func expiryAndForgery() throws {
        let memo = VerifiedTokens()
        let now = Date(timeIntervalSince1970: 1_000_000)
        let good = token(exp: 1_000_100)

        #expect(try memo.claims(of: good, signer: signer, now: now).exp == 1_000_100)
        #expect(try memo.claims(of: good, signer: signer, now: now).sub == "build")
        #expect(throws: TokenError.expired) {
            try memo.claims(of: good, signer: signer, now: Date(timeIntervalSince1970: 1_000_101))
        }
        let forged = token(exp: 1_000_100, signer: TokenSigner(key: Data("another key, also long enough!!!".utf8)))
        for _ in 0..<2 {
            #expect(throws: TokenError.invalidClaims) { try memo.claims(of: forged, signer: signer, now: now) }
        }
    }
}
