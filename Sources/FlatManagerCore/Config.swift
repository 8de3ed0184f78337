import Foundation
import SystemPackage

/// How the server writes its log lines.
public enum LogFormat: String, Sendable, Equatable {
    case text, json
}

/// The server configuration, upstream's `config.json` (server.md §1), decoded once and validated at start-up.
///
/// Differences from 0.4.2, on purpose: `database-url` may be absent (an embedded SQLite file is used),
/// `gpg-key`/`build-gpg-key` take a string or an array (as 0.5), and a few keys of ours are accepted
/// (`commit-workers`, `gpg-binary`, `delta-timeout-secs`, `shutdown-timeout-secs`, `job-shutdown-timeout-secs`,
/// `status-requires-token`).
/// Every relative path is made absolute against the working directory.
///
/// The keys and the rule for each (required, optional, defaulted) are declared once, in `Config+Decoding.swift`.
public struct Config: Sendable, Equatable {
    public var databaseURL: String?
    public var host: String
    public var port: Int
    public var baseURL: String
    public var gpgHomedir: FilePath?
    public var secret: String
    public var repoSecret: String?
    public var tokenPrefix: String?
    public var repos: [String: RepoConfig]
    public var buildRepoBase: FilePath
    public var buildGPGKeys: [String]
    public var delayUpdateSecs: Int
    public var localDeltaThreads: Int
    public var storefrontInfoEndpoint: String?
    public var workers: Int?
    /// Ours: how many commit/check jobs may run at once (default: number of cores).
    public var commitWorkers: Int
    /// Ours: the gpg executable used to export public keys (Debian has no `gpg2`).
    public var gpgBinary: String
    /// Ours, opt-in hardening (`enforce-branches`): refuse build refs whose branch the token's `branches` claim
    /// does not list. Off by default because upstream never checks the claim, so existing tokens keep working.
    public var enforceBranches: Bool = false
    /// Ours: `text` (default) or `json` (one JSON object per line, for log shippers); env
    /// `FLAT_MANAGER_LOG_FORMAT` overrides it.
    public var logFormat: LogFormat = .text
    /// Ours: a static delta still being generated after this many seconds is abandoned (0.5 kills after 3600).
    public var deltaTimeoutSecs: Int = 3600
    /// Ours: after SIGTERM, in-flight HTTP requests get this many seconds to finish; then their connections are
    /// closed (upstream waits for them without a bound).
    public var shutdownTimeoutSecs: Int = 30
    /// Ours: once HTTP has stopped, running jobs get this many seconds to finish; then the process exits with
    /// status 1 and leaves their leases, so that the next start resumes them as after a crash (upstream waits
    /// without a bound).
    public var jobShutdownTimeoutSecs: Int = 3600
    /// Ours: a request's head must be complete this many seconds after the connection opened or the previous
    /// response ended, else the connection is closed (a client that never finishes its headers held it forever);
    /// 0 = no limit. An idle keep-alive connection is closed after the same time.
    public var httpHeaderTimeoutSecs: Int = 60
    /// Ours: while a request body is being read, a connection that sends nothing for this many seconds is closed;
    /// 0 = no limit.
    public var httpIdleTimeoutSecs: Int = 60
    /// Ours: the most bytes all uploads of one build may store (objects and delta parts); nil = unlimited, as
    /// upstream. A part that would exceed it is refused with 413 and nothing of it is kept.
    public var maxBuildBytes: Int64?
    /// Ours: the largest single uploaded file (object or delta part); nil = unlimited, as upstream.
    public var maxObjectBytes: Int64?
    /// Ours: the most build refs one build may have; nil = unlimited, as upstream.
    public var maxBuildRefs: Int?
    /// Ours, opt-in privacy (`status-requires-token`): every `/status` page needs a token with the `jobs` scope.
    /// Off by default because upstream's status pages are public.
    public var statusRequiresToken: Bool = false
    /// Ours (`hook-environment`): the names of the server's environment variables that hooks inherit. Nil (the
    /// default) passes the whole environment, as upstream; a list narrows it for operators who want that. The
    /// `FLAT_MANAGER_*` variables of the job are always set.
    public var hookEnvironment: [String]?
    /// Ours (`job-max-resumes`): how often a commit, publish, check, republish or update-repo job interrupted by a
    /// crash, a stop past its timeout or a lost lease is resumed; interrupted once more, it is broken as upstream
    /// breaks it (0 = upstream's behaviour).
    public var jobMaxResumes: Int = 3
    /// Ours (`failed-build-retention-hours`): the directory of a failed or purged build is removed this many hours
    /// after the cleanup sweep first saw it so (its record stays); 0 = at the next sweep.
    public var failedBuildRetentionHours: Int = 24
    /// Ours: `token-public-keys`, keys that verify EdDSA and ES256 tokens besides the HS256 `secret` (both the API
    /// and `/repo`); absent: none, as upstream.
    public var tokenPublicKeys: [TokenPublicKey] = []
    /// Ours, opt-in (`webhooks`): receivers of signed JSON POSTs about builds and repos (Webhooks.swift); empty, as
    /// when the key is absent, sends nothing.
    public var webhooks: [WebhookConfig] = []
    /// Ours (`webhook-delivery`): the retry schedule and request timeout of webhook deliveries.
    public var webhookDelivery = WebhookDeliveryPolicy()

    /// The names of the configured repositories, sorted.
    public var repoNames: [String] { repos.keys.sorted() }

    /// The key that verifies tokens on `/repo` (`repo-secret`, else `secret`), base64.
    public var effectiveRepoSecret: String { repoSecret ?? secret }
}

/// One entry of `repos` (server.md §1.4).
public struct RepoConfig: Sendable, Equatable {
    public var name: String
    public var path: FilePath
    public var collectionID: String?
    public var deployCollectionID: Bool
    public var suggestedRepoName: String?
    public var runtimeRepoURL: String?
    public var gpgKeys: [String]
    public var baseURL: String?
    public var defaultTokenType: Int32
    public var requireAuthForTokenTypes: [Int32]
    public var subsets: [String: SubsetConfig]
    public var postPublishScript: String?
    public var hooks: HooksConfig
    public var deltas: [DeltaRule]
    public var appstreamDeltaDepth: Int
    /// Ours, opt-in (`downgrade-protection`): a publish that would make a ref current with an uploaded commit older
    /// than the one current now fails, unless the request allows it or the build ends the ref's life.
    public var downgradeProtection: Bool = false
    /// Ours, opt-in (`metadata-lint`): the commit job refuses a build whose commit metadata, `/metadata` file, refs
    /// and app id disagree (or hold NUL bytes, the CVE-2021-43860 class).
    public var metadataLint: Bool = false
    /// Ours (issue #13, `installable-first`, opt-in: default off, upstream's order), per repo: an update-repo job that a publish, republish or rollback
    /// waits for regenerates appstream and the summary in one run, which makes the new commits installable, and
    /// leaves the static deltas and the appstream checkout to a follow-up update-repo job; off, it works in
    /// upstream's order (deltas before the one summary).
    public var installableFirst: Bool = false
    /// Ours (issue #15): absent means prunes keep upstream's depth 3 and none is scheduled.
    public var retention: RetentionConfig?

    /// The repo's public URL: its `base-url`, else `<server base-url>/repo/<name>`.
    public func publicURL(serverBaseURL: String) -> String {
        baseURL ?? "\(serverBaseURL)/repo/\(name)"
    }
}

/// One entry of a repo's `subsets`: parsed and otherwise unused, as upstream (server.md §1.4).
public struct SubsetConfig: Sendable, Equatable {
    public var collectionID: String
    public var baseURL: String?
}

/// A repo's `hooks`: the publish hook and the checks run after a commit (server.md §1.5).
public struct HooksConfig: Sendable, Equatable {
    public var publish: [String]
    public var checks: [String: CheckHook]

    public init(publish: [String] = [], checks: [String: CheckHook] = [:]) {
        self.publish = publish
        self.checks = checks
    }
}

/// One entry of `hooks.checks`: a check job's command and whether its result may be reviewed.
public struct CheckHook: Sendable, Equatable {
    public var command: [String]
    public var reviewable: Bool
}

/// A `deltas` rule: which refs get static deltas and how deep (server.md §1.5).
public struct DeltaRule: Sendable, Equatable {
    public var id: [String]
    public var arch: [String]
    public var depth: Int
}

/// A configuration problem, naming the file and the key.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var message: String

    public init(file: String, key: String, message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(file): \(message)" : "\(file): key '\(key)': \(message)"
    }
}

extension Config {
    /// Reads and validates a config file. Relative paths are resolved against `workingDirectory`.
    public static func load(path: FilePath, workingDirectory: FilePath) throws(ConfigError) -> Config {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path.string))
        } catch {
            throw ConfigError(
                file: path.string, key: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(data, file: path.string, workingDirectory: workingDirectory)
    }

    /// Decodes and validates config JSON; `file` is only used in error messages.
    ///
    /// Decoding (`Config+Decoding.swift`) checks the shape of the file key by key; validation
    /// (`Config+Validation.swift`) then checks what the shape cannot say (base64, ranges across keys, paths on disk)
    /// and makes paths absolute.
    public static func parse(_ data: Data, file: String, workingDirectory: FilePath) throws(ConfigError) -> Config {
        var config: Config
        do {
            config = try JSONDecoder().decode(Config.self, from: data)
        } catch let problem as ConfigDecodingProblem {
            throw ConfigError(file: file, key: problem.keyPath, message: problem.message)
        } catch {
            // Every shape problem is a `ConfigDecodingProblem`; what the decoder itself throws is a syntax error,
            // found before decoding starts.
            throw ConfigError(file: file, key: "", message: "not valid JSON: \(error)")
        }
        try config.validate(file: file, workingDirectory: workingDirectory)
        return config
    }
}
