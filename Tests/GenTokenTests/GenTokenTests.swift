import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The `gentoken` executable, run as a process (api.md §9.8).
@Suite("gentoken", .enabled(if: BinarySupport.hasGenToken))
struct GenTokenTests {
    static let signer = TokenSigner(key: Data("secret".utf8))

    /// The claims of the token printed on the last line of `stdout`.
    func claims(_ outcome: BinarySupport.Outcome) throws -> Claims {
        let token = try #require(outcome.stdout.split(separator: "\n").last.map(String.init))
        return try Self.signer.verify(token)
    }

    @Test func aBase64SecretFromStdinMatchesTheUpstreamExampleConfig() throws {
        let outcome = try BinarySupport.run(
            "gentoken", ["--base64", "--secret-file", "-", "--name", "test"], stdin: "c2VjcmV0\n")

        let configSigner = try #require(TokenSigner(base64Secret: "c2VjcmV0"))
        let token = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(outcome.status == 0)
        #expect(try configSigner.verify(token).name == "test")
    }

    @Test func theDefaultsAreUpstreams() throws {
        let before = Int64(Date().timeIntervalSince1970)

        let outcome = try BinarySupport.run("gentoken", ["--secret", "secret"])

        let claims = try claims(outcome)
        #expect(claims.sub == "build")
        #expect(claims.name == "default")
        #expect(claims.scope == ["build", "upload", "download", "publish", "jobs"])
        #expect(claims.prefixes == [""])
        #expect(claims.repos == [""])
        #expect(claims.branches == ["stable"])
        #expect(claims.tokenType == "app")
        #expect(claims.jti == nil)
        #expect(claims.exp >= before + 31_536_000 && claims.exp <= before + 31_536_000 + 60)
    }

    @Test("a duration past the end of Int64 gives a token that never expires instead of a crash")
    func aHugeDurationSaturates() throws {
        // Act
        let outcome = try BinarySupport.run(
            "gentoken", ["--secret", "secret", "--duration", "9223372036854775807"])

        // Assert
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try claims(outcome).exp == .max)
    }

    @Test func verboseFirstPrintsTheClaimsInUpstreamsOrder() throws {
        let outcome = try BinarySupport.run("gentoken", ["-v", "--secret", "secret", "--repo", "stable"])

        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        let claims = try claims(outcome)
        #expect(lines.count == 2)
        #expect(lines.first == "Token: " + claims.payloadJSON(style: .gentoken))
        #expect(
            lines.first?.hasPrefix(
                #"Token: {"sub":"build","scope":["build","upload","download","publish","jobs"],"name":"default","prefixes":[""],"repos":["stable"],"exp":"#
            ) == true)
    }

    @Test func listOptionsTakeSeveralValuesAndRepeat() throws {
        let outcome = try BinarySupport.run(
            "gentoken",
            [
                "--secret=secret", "--scope", "upload", "build", "--scope=jobs", "--prefix", "org.a", "--repo", "a",
                "b",
                "--branch", "beta", "--sub=build/42", "--token-type", "runtime", "--duration", "60", "--jti", "ci-1",
            ])

        let claims = try claims(outcome)
        #expect(claims.scope == ["upload", "build", "jobs"])
        #expect(claims.prefixes == ["org.a"])
        #expect(claims.repos == ["a", "b"])
        #expect(claims.branches == ["beta"])
        #expect(claims.sub == "build/42")
        #expect(claims.tokenType == "runtime")
        #expect(claims.jti == "ci-1")
    }

    @Test func theSecretIsTrimmed() throws {
        let outcome = try BinarySupport.run("gentoken", ["--secret", "  secret \n"])

        #expect(throws: Never.self) { try claims(outcome) }
    }

    @Test func aSecretFileIsRead() throws {
        let file = NSTemporaryDirectory() + "gentoken-secret-" + UUID().uuidString
        try Data("secret\n".utf8).write(to: URL(fileURLWithPath: file))

        let outcome = try BinarySupport.run("gentoken", ["--secret-file", file])

        #expect(outcome.status == 0)
        #expect(throws: Never.self) { try claims(outcome) }
    }

    @Test func noSecretIsAnErrorWithStatusOne() throws {
        let outcome = try BinarySupport.run("gentoken", [])

        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("No secret specified, use --secret or --secret-file"))
        #expect(outcome.stdout.isEmpty)
    }

    @Test func anUnreadableSecretFileIsAnErrorWithStatusOne() throws {
        let outcome = try BinarySupport.run("gentoken", ["--secret-file", "/nonexistent/secret"])

        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("Error reading secrets: "))
    }

    @Test func invalidBase64IsAnErrorWithStatusOne() throws {
        let outcome = try BinarySupport.run("gentoken", ["--base64", "--secret", "not base64!"])

        #expect(outcome.status == 1)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test func anUnknownOptionIsAUsageErrorWithStatusTwo() throws {
        let outcome = try BinarySupport.run("gentoken", ["--secret", "s", "--colour"])

        #expect(outcome.status == 2)
        #expect(!outcome.stderr.isEmpty)
    }
}
