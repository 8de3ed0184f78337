import FlatManagerCore
import Testing

/// The decoding rules the other config suites rely on, pinned with their messages: how `null` is read for each
/// kind of key, and the key path an error names at every depth of the file.
@Suite("Config decoding")
struct ConfigDecodingTests {
    @Test("null for an optional key means the key is absent")
    func nullForAnOptionalKeyIsAbsent() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let top = #", "gpg-homedir": null, "token-prefix": null, "build-gpg-key": null, "max-build-refs": null"#
        let repo = #", "collection-id": null, "gpg-key": null, "hooks": {"publish": null, "checks": null}"#

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: top, extraRepo: repo))

        // Assert
        #expect(config.gpgHomedir == nil)
        #expect(config.tokenPrefix == nil)
        #expect(config.buildGPGKeys.isEmpty)
        #expect(config.maxBuildRefs == nil)
        #expect(config.repos["stable"]?.collectionID == nil)
        #expect(config.repos["stable"]?.gpgKeys == [])
        #expect(config.repos["stable"]?.hooks == HooksConfig())
    }

    /// An invalid config, the key its error must name and the message it must give.
    struct Refused: Sendable, CustomTestStringConvertible {
        var name: String
        var json: String
        var key: String
        var message: String
        var testDescription: String { name }
    }

    /// A minimal config whose repo `stable` has these `subsets` (`ConfigFixture.minimal` already sets them).
    static func withSubsets(_ subsets: String) -> String {
        #"{"secret": "c2VjcmV0", "build-repo-base": "b", "repos": {"stable": {"path": "repo", "subsets": "#
            + subsets + "}}}"
    }

    static let refused: [Refused] = [
        Refused(
            name: "null for a defaulted key", json: ConfigFixture.minimal(extraTop: #", "port": null"#), key: "port",
            message: "must not be null (omit the key for the default)"),
        Refused(
            name: "null for a required key",
            json: #"{"secret": null, "build-repo-base": "b", "repos": {"stable": {"path": "repo", "subsets": {}}}}"#,
            key: "secret", message: "must not be null"),
        Refused(
            name: "null repo-secret", json: ConfigFixture.minimal(extraTop: #", "repo-secret": null"#),
            key: "repo-secret", message: "must not be null"),
        Refused(
            name: "a check without a command",
            json: ConfigFixture.minimal(extraRepo: #", "hooks": {"checks": {"review": {"reviewable": true}}}"#),
            key: "repos.stable.hooks.checks.review.command", message: "missing required key"),
        Refused(
            name: "a delta rule without a depth",
            json: ConfigFixture.minimal(extraRepo: #", "deltas": [{"id": ["a"], "depth": 1}, {"id": ["b"]}]"#),
            key: "repos.stable.deltas[1].depth", message: "missing required key"),
        Refused(
            name: "a negative delta depth",
            json: ConfigFixture.minimal(extraRepo: #", "deltas": [{"id": ["a"], "depth": -1}]"#),
            key: "repos.stable.deltas[0].depth", message: "expected an integer in 0...4294967295"),
        Refused(
            name: "a delta rule that is not an object", json: ConfigFixture.minimal(extraRepo: #", "deltas": [1]"#),
            key: "repos.stable.deltas[0]", message: "expected an object"),
        Refused(
            name: "deltas that are not an array", json: ConfigFixture.minimal(extraRepo: #", "deltas": {}"#),
            key: "repos.stable.deltas", message: "expected an array"),
        Refused(
            name: "a subset without a collection id",
            json: Self.withSubsets(#"{"free": {"base-url": "u"}}"#),
            key: "repos.stable.subsets.free.collection-id", message: "missing required key"),
        Refused(
            name: "a repository that is not an object",
            json: #"{"secret": "c2VjcmV0", "build-repo-base": "b", "repos": {"stable": null}}"#,
            key: "repos.stable", message: "expected an object"),
        Refused(
            name: "a token type that is not an integer",
            json: ConfigFixture.minimal(extraRepo: #", "require-auth-for-token-types": [1, "2"]"#),
            key: "repos.stable.require-auth-for-token-types",
            message: "expected an integer in -2147483648...2147483647"),
        Refused(
            name: "a number in a key list", json: ConfigFixture.minimal(extraRepo: #", "gpg-key": ["A", 2]"#),
            key: "repos.stable.gpg-key", message: "expected an array of strings"),
        Refused(
            name: "an unknown log format", json: ConfigFixture.minimal(extraTop: #", "log-format": "xml""#),
            key: "log-format", message: #"expected "text" or "json""#),
        Refused(
            name: "a string for a boolean", json: ConfigFixture.minimal(extraTop: #", "enforce-branches": "yes""#),
            key: "enforce-branches", message: "expected true or false"),
        Refused(
            name: "a number for a string", json: ConfigFixture.minimal(extraTop: #", "host": 1"#), key: "host",
            message: "expected a string"),
        Refused(
            name: "an unknown key in a subset",
            json: Self.withSubsets(#"{"free": {"collection-id": "c", "colour": 1}}"#),
            key: "repos.stable.subsets.free.colour", message: "unknown key"),
        Refused(name: "a file that is not an object", json: "[]", key: "", message: "expected an object"),
        Refused(
            name: "a token public key that is not PEM",
            json: ConfigFixture.minimal(
                extraTop: #", "token-public-keys": [{"kid": "k", "alg": "EdDSA", "key": "x"}]"#),
            key: "token-public-keys[0].key",
            message: "not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)"),
        Refused(
            name: "a token public key of an unknown algorithm",
            json: ConfigFixture.minimal(
                extraTop: #", "token-public-keys": [{"kid": "k", "alg": "RS256", "key": "x"}]"#),
            key: "token-public-keys[0].alg", message: #"must be "EdDSA" or "ES256""#),
    ]

    @Test("an invalid config names the key path and says what is wrong", arguments: refused)
    func refusedWithKeyAndMessage(_ example: Refused) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(example.json)

        // Assert
        #expect(error?.key == example.key)
        #expect(error?.message == example.message)
    }

    @Test("text that is not JSON is refused as such, naming no key")
    func notJSON() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(#"{"secret": "#)

        // Assert
        #expect(error?.key == "")
        #expect(error?.message.hasPrefix("not valid JSON") == true)
    }
}
