import FlatManagerCore
import Foundation
import SystemPackage
import Testing

/// A scratch directory holding an ostree-looking repo (`repo/config`) for config validation.
struct ConfigFixture {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/repo", withIntermediateDirectories: true)
        try Data("[core]\nmode=archive-z2\n".utf8).write(to: URL(fileURLWithPath: directory + "/repo/config"))
    }

    func parse(_ json: String) throws(ConfigError) -> Config {
        try Config.parse(Data(json.utf8), file: "config.json", workingDirectory: FilePath(directory))
    }

    /// The error `parse` throws, or nil when it accepted the text.
    func error(_ json: String) -> ConfigError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    /// A minimal valid config with `extraTop` members added at top level and `extraRepo` in repo `stable`.
    static func minimal(extraTop: String = "", extraRepo: String = "") -> String {
        """
        {"secret": "c2VjcmV0", "build-repo-base": "build-repo"\(extraTop),
         "repos": {"stable": {"path": "repo", "subsets": {}\(extraRepo)}}}
        """
    }
}

@Suite("Config.parse")
struct ConfigTests {
    static let full = """
        {
          "database-url": "postgres://%2Fvar%2Frun%2Fpostgresql/repo",
          "host": "0.0.0.0",
          "port": 8081,
          "base-url": "https://hub.example.org/",
          "gpg-homedir": "gpg",
          "secret": "c2VjcmV0",
          "repo-secret": "cmVwbw==",
          "token-prefix": "fm_",
          "build-repo-base": "build-repo",
          "build-gpg-key": "BUILDKEY",
          "delay-update-secs": 10,
          "local-delta-threads": 2,
          "storefront-info-endpoint": "https://store.example.org/info",
          "workers": 3,
          "commit-workers": 2,
          "gpg-binary": "/usr/bin/gpg",
          "repos": {
            "stable": {
              "path": "repo",
              "collection-id": "org.example.Stable",
              "deploy-collection-id": true,
              "suggested-repo-name": "example",
              "runtime-repo-url": "https://dl.example.org/example.flatpakrepo",
              "gpg-key": ["KEY1", "KEY2"],
              "base-url": "https://dl.example.org/repo/",
              "default-token-type": 1,
              "require-auth-for-token-types": [1, 2],
              "subsets": {"free": {"collection-id": "org.example.Free", "base-url": "https://free.example.org/"}},
              "post-publish-script": "scripts/post-publish.sh",
              "hooks": {
                "publish": ["true"],
                "checks": {"lint": {"command": ["lint", "--strict"], "reviewable": true}}
              },
              "deltas": [{"id": ["org.example.*"], "arch": ["x86_64"], "depth": 3}],
              "appstream-delta-depth": 4
            }
          }
        }
        """

    @Test func aFullUpstreamStyleConfigDecodesEveryKey() throws {
        let fixture = try ConfigFixture()

        let config = try fixture.parse(Self.full)

        #expect(config.databaseURL == "postgres://%2Fvar%2Frun%2Fpostgresql/repo")
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 8081)
        #expect(config.baseURL == "https://hub.example.org")
        #expect(config.gpgHomedir == FilePath(fixture.directory + "/gpg"))
        #expect(config.secret == "c2VjcmV0")
        #expect(config.repoSecret == "cmVwbw==")
        #expect(config.effectiveRepoSecret == "cmVwbw==")
        #expect(config.tokenPrefix == "fm_")
        #expect(config.buildRepoBase == FilePath(fixture.directory + "/build-repo"))
        #expect(config.buildGPGKeys == ["BUILDKEY"])
        #expect(config.delayUpdateSecs == 10)
        #expect(config.localDeltaThreads == 2)
        #expect(config.storefrontInfoEndpoint == "https://store.example.org/info")
        #expect(config.workers == 3)
        #expect(config.commitWorkers == 2)
        #expect(config.gpgBinary == "/usr/bin/gpg")
        #expect(config.repoNames == ["stable"])
    }

    @Test func aFullRepoEntryDecodesEveryKey() throws {
        let fixture = try ConfigFixture()

        let repo = try #require(try fixture.parse(Self.full).repos["stable"])

        #expect(repo.name == "stable")
        #expect(repo.path == FilePath(fixture.directory + "/repo"))
        #expect(repo.collectionID == "org.example.Stable")
        #expect(repo.deployCollectionID)
        #expect(repo.suggestedRepoName == "example")
        #expect(repo.runtimeRepoURL == "https://dl.example.org/example.flatpakrepo")
        #expect(repo.gpgKeys == ["KEY1", "KEY2"])
        #expect(repo.baseURL == "https://dl.example.org/repo/")
        #expect(repo.defaultTokenType == 1)
        #expect(repo.requireAuthForTokenTypes == [1, 2])
        #expect(repo.subsets["free"]?.collectionID == "org.example.Free")
        #expect(repo.subsets["free"]?.baseURL == "https://free.example.org/")
        #expect(repo.postPublishScript == fixture.directory + "/scripts/post-publish.sh")
        #expect(repo.hooks.publish == ["true"])
        #expect(repo.hooks.checks["lint"]?.command == ["lint", "--strict"])
        #expect(repo.hooks.checks["lint"]?.reviewable == true)
        #expect(repo.deltas.map(\.id) == [["org.example.*"]])
        #expect(repo.deltas.map(\.arch) == [["x86_64"]])
        #expect(repo.deltas.map(\.depth) == [3])
        #expect(repo.appstreamDeltaDepth == 4)
    }

    @Test func aMinimalConfigGetsUpstreamDefaults() throws {
        let fixture = try ConfigFixture()

        let config = try fixture.parse(ConfigFixture.minimal())

        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.baseURL == "http://127.0.0.1:8080")
        #expect(config.delayUpdateSecs == 0)
        #expect(config.localDeltaThreads == 1)
        #expect(config.repoSecret == nil)
        #expect(config.effectiveRepoSecret == "c2VjcmV0")
        let repo = try #require(config.repos["stable"])
        #expect(repo.gpgKeys.isEmpty)
        #expect(repo.defaultTokenType == 0)
        #expect(repo.appstreamDeltaDepth == 5)
        #expect(repo.hooks == HooksConfig())
        #expect(repo.publicURL(serverBaseURL: config.baseURL) == "http://127.0.0.1:8080/repo/stable")
    }

    @Test func aGPGKeyMayBeASingleString() throws {
        let fixture = try ConfigFixture()

        let config = try fixture.parse(ConfigFixture.minimal(extraRepo: #", "gpg-key": "ONEKEY""#))

        #expect(config.repos["stable"]?.gpgKeys == ["ONEKEY"])
    }

    @Test func aCheckObjectToleratesUnknownKeys() throws {
        let fixture = try ConfigFixture()
        let hooks = #", "hooks": {"checks": {"lint": {"command": ["x"], "comment": "ignored"}}}"#

        let config = try fixture.parse(ConfigFixture.minimal(extraRepo: hooks))

        #expect(config.repos["stable"]?.hooks.checks["lint"]?.command == ["x"])
        #expect(config.repos["stable"]?.hooks.checks["lint"]?.reviewable == false)
    }

    /// An invalid config and the key its error must name.
    struct Invalid: Sendable, CustomTestStringConvertible {
        var name: String
        var json: String
        var key: String
        var testDescription: String { name }
    }

    static let invalid: [Invalid] = [
        Invalid(name: "unknown top-level key", json: ConfigFixture.minimal(extraTop: #", "colour": 1"#), key: "colour"),
        Invalid(
            name: "unknown repo key", json: ConfigFixture.minimal(extraRepo: #", "colour": 1"#),
            key: "repos.stable.colour"),
        Invalid(
            name: "unknown hooks key", json: ConfigFixture.minimal(extraRepo: #", "hooks": {"colour": []}"#),
            key: "repos.stable.hooks.colour"),
        Invalid(
            name: "unknown deltas key",
            json: ConfigFixture.minimal(extraRepo: #", "deltas": [{"id": ["a"], "depth": 1, "colour": 2}]"#),
            key: "repos.stable.deltas[0].colour"),
        Invalid(
            name: "missing secret",
            json: #"{"build-repo-base": "b", "repos": {"stable": {"path": "repo", "subsets": {}}}}"#, key: "secret"),
        Invalid(name: "missing repos", json: #"{"secret": "c2VjcmV0", "build-repo-base": "b"}"#, key: "repos"),
        Invalid(
            name: "missing build-repo-base",
            json: #"{"secret": "c2VjcmV0", "repos": {"stable": {"path": "repo", "subsets": {}}}}"#,
            key: "build-repo-base"),
        Invalid(
            name: "missing repo path",
            json: #"{"secret": "c2VjcmV0", "build-repo-base": "b", "repos": {"stable": {"subsets": {}}}}"#,
            key: "repos.stable.path"),
        Invalid(
            name: "missing subsets",
            json: #"{"secret": "c2VjcmV0", "build-repo-base": "b", "repos": {"stable": {"path": "repo"}}}"#,
            key: "repos.stable.subsets"),
        Invalid(name: "null port", json: ConfigFixture.minimal(extraTop: #", "port": null"#), key: "port"),
        Invalid(
            name: "null repo-secret", json: ConfigFixture.minimal(extraTop: #", "repo-secret": null"#),
            key: "repo-secret"),
        Invalid(name: "string port", json: ConfigFixture.minimal(extraTop: #", "port": "8080""#), key: "port"),
        Invalid(name: "port out of range", json: ConfigFixture.minimal(extraTop: #", "port": 70000"#), key: "port"),
        Invalid(name: "numeric host", json: ConfigFixture.minimal(extraTop: #", "host": 1"#), key: "host"),
        Invalid(
            name: "string for a boolean",
            json: ConfigFixture.minimal(extraRepo: #", "deploy-collection-id": "yes""#),
            key: "repos.stable.deploy-collection-id"),
        Invalid(
            name: "number inside a string list", json: ConfigFixture.minimal(extraRepo: #", "gpg-key": ["A", 2]"#),
            key: "repos.stable.gpg-key"),
        Invalid(
            name: "bad base64 secret",
            json:
                #"{"secret": "not base64!", "build-repo-base": "b", "repos": {"stable": {"path": "repo", "subsets": {}}}}"#,
            key: "secret"),
        Invalid(
            name: "bad base64 repo-secret", json: ConfigFixture.minimal(extraTop: #", "repo-secret": "%%%""#),
            key: "repo-secret"),
        Invalid(
            name: "non-existent repo path",
            json:
                #"{"secret": "c2VjcmV0", "build-repo-base": "b", "repos": {"stable": {"path": "nowhere", "subsets": {}}}}"#,
            key: "repos.stable.path"),
    ]

    @Test(arguments: invalid)
    func anInvalidConfigIsRejectedNamingTheKey(_ example: Invalid) throws {
        let fixture = try ConfigFixture()

        let error = fixture.error(example.json)

        #expect(error?.key == example.key)
        #expect(error?.file == "config.json")
    }

    @Test func aConfigErrorDescriptionNamesFileAndKey() {
        let error = ConfigError(file: "config.json", key: "port", message: "expected an integer")

        #expect(error.description == "config.json: key 'port': expected an integer")
    }
}
