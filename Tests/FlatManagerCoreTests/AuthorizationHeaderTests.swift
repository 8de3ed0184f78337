import FlatManagerCore
import Testing

@Suite("AuthorizationHeader (api.md §1.2)")
struct AuthorizationHeaderTests {
    @Test func aBearerHeaderYieldsTheToken() throws {
        #expect(try AuthorizationHeader.token(from: "Bearer abc.def.ghi", tokenPrefix: nil) == "abc.def.ghi")
    }

    @Test func aConfiguredTokenPrefixIsRemovedWhenPresent() throws {
        #expect(try AuthorizationHeader.token(from: "Bearer fm_abc.def", tokenPrefix: "fm_") == "abc.def")
        #expect(try AuthorizationHeader.token(from: "Bearer abc.def", tokenPrefix: "fm_") == "abc.def")
    }

    /// A header value and the error it must give.
    struct Refused: Sendable, CustomTestStringConvertible {
        var value: String
        var error: TokenError
        var testDescription: String { "'\(value)' → \(error.message)" }
    }

    @Test(arguments: [
        Refused(value: "Bearer", error: .headerTooShort),
        Refused(value: "Bear x", error: .headerTooShort),
        Refused(value: "Bearer tökén", error: .headerNotString),
        Refused(value: "Bearer a\u{1}bcdef", error: .headerNotString),
        Refused(value: "Basic dXNlcjpwdw==", error: .notBearer),
        Refused(value: "bearer abcdefgh", error: .notBearer),
        Refused(value: "Bearerabcdefgh", error: .noTokenValue),
    ])
    func aMalformedHeaderIsRefusedWithUpstreamsMessage(_ refused: Refused) {
        #expect(throws: refused.error) { try AuthorizationHeader.token(from: refused.value, tokenPrefix: nil) }
    }

    @Test func everyTokenErrorHasUpstreamsMessage() {
        let messages = [
            TokenError.noAuthorizationHeader: "No Authorization header",
            .headerTooShort: "Header length too short",
            .headerNotString: "Cannot convert header to string",
            .notBearer: "Token scheme is not Bearer",
            .noTokenValue: "No token value in header",
            .invalidClaims: "Invalid token claims",
            .expired: "Token is expired",
            .revoked: "Token has been revoked",
        ]

        for (error, message) in messages {
            #expect(error.message == message)
        }
    }
}
