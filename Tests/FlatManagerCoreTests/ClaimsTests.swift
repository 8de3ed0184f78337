import FlatManagerCore
import Foundation
import Testing

@Suite("Claims")
struct ClaimsTests {
    static let claims = Claims(
        sub: "build", exp: 1_746_102_605, name: "default", scope: ["build", "upload", "download", "publish", "jobs"],
        prefixes: [""], repos: ["stable"], branches: ["stable"], tokenType: "app")

    @Test func theGentokenPayloadHasUpstreamsMemberOrderWithoutJTIAndApps() {
        let json = Self.claims.payloadJSON(style: .gentoken)

        #expect(
            json
                == #"{"sub":"build","scope":["build","upload","download","publish","jobs"],"name":"default","prefixes":[""],"repos":["stable"],"exp":1746102605,"token_type":"app","branches":["stable"]}"#
        )
    }

    @Test func aGentokenPayloadWithAJTIPutsItAfterExp() {
        var claims = Self.claims
        claims.jti = "ci-1"

        let json = claims.payloadJSON(style: .gentoken)

        #expect(json.contains(#""exp":1746102605,"jti":"ci-1","token_type":"app""#))
        #expect(!json.contains("apps"))
    }

    @Test func theCompletePayloadHasTokenSubsetsOrderWithNullJTI() {
        let claims = Claims(
            sub: "build/42", exp: 1_714_570_205, name: "default/minimal-upload", scope: ["upload"], prefixes: [""],
            repos: ["stable"], branches: ["stable"], tokenType: "app")

        #expect(
            claims.payloadJSON(style: .complete)
                == #"{"name":"default/minimal-upload","sub":"build/42","exp":1714570205,"jti":null,"scope":["upload"],"prefixes":[""],"apps":[],"repos":["stable"],"branches":["stable"],"token_type":"app"}"#
        )
    }

    @Test(arguments: [Claims.PayloadStyle.gentoken, .complete])
    func aPayloadDecodesBackToTheSameClaims(style: Claims.PayloadStyle) throws {
        let decoded = try JSONDecoder().decode(Claims.self, from: Data(Self.claims.payloadJSON(style: style).utf8))

        #expect(decoded == Self.claims)
    }

    @Test func stringsInThePayloadAreEscaped() throws {
        let claims = Claims(sub: "build", exp: 1, name: "quote \" and \\ and \n")

        let decoded = try JSONDecoder().decode(Claims.self, from: Data(claims.payloadJSON(style: .gentoken).utf8))

        #expect(decoded.name == "quote \" and \\ and \n")
    }

    @Test func hasChecksTheScopeList() {
        #expect(Self.claims.has(.publish))
        #expect(!Self.claims.has(.tokenmanagement))
    }
}

@Suite("Claims with hostile values")
struct HostileClaimsTests {
    static func decode(_ json: String) throws -> Claims {
        try JSONDecoder().decode(Claims.self, from: Data(json.utf8))
    }

    @Test(
        "an exp that is an Int64 in any spelling decodes; one outside Int64 does not",
        arguments: [
            ("10000000000000", true), ("1e13", true), ("9223372036854775807", true), ("-9223372036854775808", true),
            ("9223372036854775808", false), ("1e300", false), ("1.5", false), ("\"1\"", false), ("null", false),
        ])
    func expMustBeAnInt64(exp: String, decodes: Bool) {
        // Act
        let claims = try? Self.decode(#"{"sub":"build","exp":\#(exp)}"#)

        // Assert
        #expect((claims != nil) == decodes)
    }

    @Test(
        "a NUL in any string claim, or a jti longer than 1 KiB, makes the claims invalid",
        arguments: [
            #"{"sub":"a\u0000","exp":1}"#, #"{"sub":"build","exp":1,"name":"\u0000"}"#,
            #"{"sub":"build","exp":1,"jti":"x\u0000"}"#, #"{"sub":"build","exp":1,"branches":["\u0000"]}"#,
            #"{"sub":"build","exp":1,"token_type":"\u0000"}"#,
            #"{"sub":"build","exp":1,"jti":""# + String(repeating: "j", count: 1025) + #""}"#,
        ])
    func untrackableClaimsAreInvalid(json: String) {
        #expect(throws: DecodingError.self) { try Self.decode(json) }
    }

    @Test("a jti of exactly 1 KiB is still accepted")
    func aKibibyteJTIIsAccepted() throws {
        // Arrange
        let jti = String(repeating: "j", count: Claims.maximumJTILength)

        // Act
        let claims = try Self.decode(#"{"sub":"build","exp":1,"jti":"\#(jti)"}"#)

        // Assert
        #expect(claims.jti == jti)
    }
}
