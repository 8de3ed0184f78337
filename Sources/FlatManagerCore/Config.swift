import Foundation

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
public struct Config: Sendable, Equatable {
    public var databaseURL: String?
    public var host: String
    public var port: Int
    public var baseURL: String
    public var gpgHomedir: String?
    public var secret: String
    public var repoSecret: String?
    public var tokenPrefix: String?
    public var repos: [String: RepoConfig]
    public var buildRepoBase: String
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
    /// status 1 and leaves their leases, so that the next start breaks them as after a crash (upstream waits
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

    /// The names of the configured repositories, sorted.
    public var repoNames: [String] { repos.keys.sorted() }

    /// The key that verifies tokens on `/repo` (`repo-secret`, else `secret`), base64.
    public var effectiveRepoSecret: String { repoSecret ?? secret }
}

/// One entry of `repos` (server.md §1.4).
public struct RepoConfig: Sendable, Equatable {
    public var name: String
    public var path: String
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

    /// The repo's public URL: its `base-url`, else `<server base-url>/repo/<name>`.
    public func publicURL(serverBaseURL: String) -> String {
        baseURL ?? "\(serverBaseURL)/repo/\(name)"
    }
}

public struct SubsetConfig: Sendable, Equatable {
    public var collectionID: String
    public var baseURL: String?
}

public struct HooksConfig: Sendable, Equatable {
    public var publish: [String]
    public var checks: [String: CheckHook]

    public init(publish: [String] = [], checks: [String: CheckHook] = [:]) {
        self.publish = publish
        self.checks = checks
    }
}

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
    public static func load(path: String, workingDirectory: String) throws(ConfigError) -> Config {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, key: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(data, file: path, workingDirectory: workingDirectory)
    }

    /// Decodes and validates config JSON; `file` is only used in error messages.
    public static func parse(_ data: Data, file: String, workingDirectory: String) throws(ConfigError) -> Config {
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(file: file, key: "", message: "not valid JSON: \(error)")
        }
        var config = try ConfigReader(file: file, path: []).config(json)
        try config.validate(file: file, workingDirectory: workingDirectory)
        return config
    }

    mutating func validate(file: String, workingDirectory: String) throws(ConfigError) {
        guard TokenSigner(base64Secret: secret) != nil else {
            throw ConfigError(file: file, key: "secret", message: "not valid base64")
        }
        if let repoSecret, TokenSigner(base64Secret: repoSecret) == nil {
            throw ConfigError(file: file, key: "repo-secret", message: "not valid base64")
        }
        guard (0...65535).contains(port) else {
            throw ConfigError(file: file, key: "port", message: "must be between 0 and 65535")
        }
        guard !repos.isEmpty else { throw ConfigError(file: file, key: "repos", message: "no repository configured") }
        if baseURL.isEmpty { baseURL = "http://\(host):\(port)" }
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        buildRepoBase = Self.absolute(buildRepoBase, in: workingDirectory)
        if let home = gpgHomedir { gpgHomedir = Self.absolute(home, in: workingDirectory) }
        for name in repos.keys {
            guard var repo = repos[name] else { continue }
            // The grammar requests are checked against (`RepoName`): a repository outside it could not be named.
            guard RepoName.isValid(name) else {
                throw ConfigError(
                    file: file, key: "repos.\(name)",
                    message: "not a usable repository name (1-255 of A-Z a-z 0-9 _ . -, not starting with . or -)")
            }
            repo.path = Self.absolute(repo.path, in: workingDirectory)
            if let script = repo.postPublishScript, script.contains("/") {
                repo.postPublishScript = Self.absolute(script, in: workingDirectory)
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: repo.path + "/config", isDirectory: &isDirectory),
                !isDirectory.boolValue
            else {
                throw ConfigError(
                    file: file, key: "repos.\(name).path",
                    message: "\(repo.path) is not an ostree repository (create it with `ostree init --mode=archive-z2`)"
                )
            }
            repos[name] = repo
        }
    }

    /// `path` made absolute against `directory` and lexically normalised.
    public static func absolute(_ path: String, in directory: String) -> String {
        let full = path.hasPrefix("/") ? path : directory + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}

/// Walks the parsed JSON with upstream's strictness: unknown keys rejected, `null` only for optional keys.
struct ConfigReader {
    let file: String
    let path: [String]

    func error(_ key: String?, _ message: String) -> ConfigError {
        ConfigError(file: file, key: (path + (key.map { [$0] } ?? [])).joined(separator: "."), message: message)
    }

    func object(_ value: Any, allowed: Set<String>?) throws(ConfigError) -> [String: Any] {
        guard case .object(let dict) = value as? JSONValue else { throw error(nil, "expected an object") }
        if let allowed, let unknown = dict.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw error(unknown, "unknown key")
        }
        return dict
    }

    func child(_ key: String) -> ConfigReader { ConfigReader(file: file, path: path + [key]) }

    func isNull(_ value: Any?) -> Bool {
        if case .null = value as? JSONValue { return true }
        return false
    }

    /// Required key.
    func required<T>(_ dict: [String: Any], _ key: String, _ read: (Any) throws(ConfigError) -> T) throws(ConfigError)
        -> T
    {
        guard let value = dict[key] else { throw error(key, "missing required key") }
        if isNull(value) { throw error(key, "must not be null") }
        return try read(value)
    }

    /// Key that may be absent or null.
    func optional<T>(_ dict: [String: Any], _ key: String, _ read: (Any) throws(ConfigError) -> T) throws(ConfigError)
        -> T?
    {
        guard let value = dict[key], !isNull(value) else { return nil }
        return try read(value)
    }

    /// Key that may be absent (default) but not null.
    func defaulted<T>(
        _ dict: [String: Any], _ key: String, _ fallback: T, _ read: (Any) throws(ConfigError) -> T
    ) throws(ConfigError) -> T {
        guard let value = dict[key] else { return fallback }
        if isNull(value) { throw error(key, "must not be null (omit the key for the default)") }
        return try read(value)
    }

    func string(_ key: String) -> (Any) throws(ConfigError) -> String {
        { (value: Any) throws(ConfigError) -> String in
            guard case .string(let s) = value as? JSONValue else { throw self.error(key, "expected a string") }
            return s
        }
    }

    func bool(_ key: String) -> (Any) throws(ConfigError) -> Bool {
        { (value: Any) throws(ConfigError) -> Bool in
            guard case .bool(let b) = value as? JSONValue else { throw self.error(key, "expected true or false") }
            return b
        }
    }

    func integer(_ key: String, range: ClosedRange<Int>) -> (Any) throws(ConfigError) -> Int {
        { (value: Any) throws(ConfigError) -> Int in
            guard case .integer(let n) = value as? JSONValue, let i = Int(exactly: n), range.contains(i) else {
                throw self.error(key, "expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
    }

    func strings(_ key: String) -> (Any) throws(ConfigError) -> [String] {
        { (value: Any) throws(ConfigError) -> [String] in
            guard case .array(let list) = value as? JSONValue else {
                throw self.error(key, "expected an array of strings")
            }
            var strings: [String] = []
            for item in list {
                guard case .string(let s) = item else { throw self.error(key, "expected an array of strings") }
                strings.append(s)
            }
            return strings
        }
    }

    /// A string or an array of strings (0.5's `gpg-key`); an empty array counts as absent.
    func keyList(_ key: String) -> (Any) throws(ConfigError) -> [String] {
        { (value: Any) throws(ConfigError) -> [String] in
            if case .string(let s) = value as? JSONValue { return [s] }
            return try self.strings(key)(value)
        }
    }

    static let topKeys: Set<String> = [
        "database-url", "host", "port", "base-url", "gpg-homedir", "secret", "repo-secret", "token-prefix", "repos",
        "build-repo-base", "build-gpg-key", "delay-update-secs", "local-delta-threads", "storefront-info-endpoint",
        "workers", "commit-workers", "gpg-binary", "enforce-branches", "log-format", "delta-timeout-secs",
        "shutdown-timeout-secs", "job-shutdown-timeout-secs", "http-header-timeout-secs", "http-idle-timeout-secs",
        "max-build-bytes", "max-object-bytes", "max-build-refs",
        "status-requires-token",
    ]

    func config(_ json: Any) throws(ConfigError) -> Config {
        let d = try object(json, allowed: Self.topKeys)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let reposValue = try required(d, "repos") { (v: Any) throws(ConfigError) -> [String: Any] in
            try self.child("repos").object(v, allowed: nil)
        }
        var repos: [String: RepoConfig] = [:]
        for (name, value) in reposValue {
            repos[name] = try child("repos").child(name).repo(name: name, value)
        }
        let maxInt32 = Int(Int32.max)
        return Config(
            databaseURL: try optional(d, "database-url", string("database-url")),
            host: try defaulted(d, "host", "127.0.0.1", string("host")),
            port: try defaulted(d, "port", 8080, integer("port", range: Int(Int32.min)...maxInt32)),
            baseURL: try defaulted(d, "base-url", "", string("base-url")),
            gpgHomedir: try optional(d, "gpg-homedir", string("gpg-homedir")),
            secret: try required(d, "secret", string("secret")),
            repoSecret: try {
                () throws(ConfigError) -> String? in
                if let v = d["repo-secret"], isNull(v) { throw error("repo-secret", "must not be null") }
                return try optional(d, "repo-secret", string("repo-secret"))
            }(),
            tokenPrefix: try optional(d, "token-prefix", string("token-prefix")),
            repos: repos,
            buildRepoBase: try required(d, "build-repo-base", string("build-repo-base")),
            buildGPGKeys: try optional(d, "build-gpg-key", keyList("build-gpg-key")) ?? [],
            delayUpdateSecs: try defaulted(
                d, "delay-update-secs", 0, integer("delay-update-secs", range: 0...maxInt32)),
            localDeltaThreads: try defaulted(
                d, "local-delta-threads", 1, integer("local-delta-threads", range: 1...1024)),
            storefrontInfoEndpoint: try optional(d, "storefront-info-endpoint", string("storefront-info-endpoint")),
            workers: try optional(d, "workers", integer("workers", range: 1...1024)),
            commitWorkers: try defaulted(d, "commit-workers", cores, integer("commit-workers", range: 1...1024)),
            gpgBinary: try defaulted(d, "gpg-binary", "gpg", string("gpg-binary")),
            enforceBranches: try defaulted(d, "enforce-branches", false, bool("enforce-branches")),
            logFormat: try defaulted(d, "log-format", .text) { (v: Any) throws(ConfigError) -> LogFormat in
                guard let format = LogFormat(rawValue: try self.string("log-format")(v)) else {
                    throw self.error("log-format", "expected \"text\" or \"json\"")
                }
                return format
            },
            deltaTimeoutSecs: try defaulted(
                d, "delta-timeout-secs", 3600, integer("delta-timeout-secs", range: 1...maxInt32)),
            shutdownTimeoutSecs: try defaulted(
                d, "shutdown-timeout-secs", 30, integer("shutdown-timeout-secs", range: 0...maxInt32)),
            jobShutdownTimeoutSecs: try defaulted(
                d, "job-shutdown-timeout-secs", 3600, integer("job-shutdown-timeout-secs", range: 0...maxInt32)),
            httpHeaderTimeoutSecs: try defaulted(
                d, "http-header-timeout-secs", 60, integer("http-header-timeout-secs", range: 0...maxInt32)),
            httpIdleTimeoutSecs: try defaulted(
                d, "http-idle-timeout-secs", 60, integer("http-idle-timeout-secs", range: 0...maxInt32)),
            maxBuildBytes: try optional(d, "max-build-bytes", integer("max-build-bytes", range: 1...Int.max))
                .map(Int64.init),
            maxObjectBytes: try optional(d, "max-object-bytes", integer("max-object-bytes", range: 1...Int.max))
                .map(Int64.init),
            maxBuildRefs: try optional(d, "max-build-refs", integer("max-build-refs", range: 1...maxInt32)),
            statusRequiresToken: try defaulted(d, "status-requires-token", false, bool("status-requires-token"))
        )
    }

    static let repoKeys: Set<String> = [
        "path", "collection-id", "deploy-collection-id", "suggested-repo-name", "runtime-repo-url", "gpg-key",
        "base-url", "default-token-type", "require-auth-for-token-types", "subsets", "post-publish-script", "hooks",
        "deltas", "appstream-delta-depth",
    ]

    func repo(name: String, _ value: Any) throws(ConfigError) -> RepoConfig {
        let d = try object(value, allowed: Self.repoKeys)
        let subsetsValue = try required(d, "subsets") { (v: Any) throws(ConfigError) -> [String: Any] in
            try self.child("subsets").object(v, allowed: nil)
        }
        var subsets: [String: SubsetConfig] = [:]
        for (subsetName, subsetValue) in subsetsValue {
            let reader = child("subsets").child(subsetName)
            let s = try reader.object(subsetValue, allowed: ["collection-id", "base-url"])
            subsets[subsetName] = SubsetConfig(
                collectionID: try reader.required(s, "collection-id", reader.string("collection-id")),
                baseURL: try reader.optional(s, "base-url", reader.string("base-url")))
        }
        let hooks = try defaulted(d, "hooks", HooksConfig()) { (v: Any) throws(ConfigError) -> HooksConfig in
            try self.child("hooks").hooks(v)
        }
        let deltas = try defaulted(d, "deltas", []) { (v: Any) throws(ConfigError) -> [DeltaRule] in
            guard case .array(let list) = v as? JSONValue else { throw self.error("deltas", "expected an array") }
            var rules: [DeltaRule] = []
            for (index, entry) in list.enumerated() {
                rules.append(try self.child("deltas[\(index)]").deltaRule(entry))
            }
            return rules
        }
        let tokenTypes = try defaulted(d, "require-auth-for-token-types", []) {
            (v: Any) throws(ConfigError) -> [Int32] in
            guard case .array(let list) = v as? JSONValue else {
                throw self.error("require-auth-for-token-types", "expected an array")
            }
            var types: [Int32] = []
            for item in list {
                let i = try self.integer("require-auth-for-token-types", range: Int(Int32.min)...Int(Int32.max))(item)
                types.append(Int32(i))
            }
            return types
        }
        return RepoConfig(
            name: name,
            path: try required(d, "path", string("path")),
            collectionID: try optional(d, "collection-id", string("collection-id")),
            deployCollectionID: try defaulted(d, "deploy-collection-id", false, bool("deploy-collection-id")),
            suggestedRepoName: try optional(d, "suggested-repo-name", string("suggested-repo-name")),
            runtimeRepoURL: try optional(d, "runtime-repo-url", string("runtime-repo-url")),
            gpgKeys: try optional(d, "gpg-key", keyList("gpg-key")) ?? [],
            baseURL: try optional(d, "base-url", string("base-url")),
            defaultTokenType: Int32(
                try defaulted(
                    d, "default-token-type", 0, integer("default-token-type", range: Int(Int32.min)...Int(Int32.max)))),
            requireAuthForTokenTypes: tokenTypes,
            subsets: subsets,
            postPublishScript: try optional(d, "post-publish-script", string("post-publish-script")),
            hooks: hooks,
            deltas: deltas,
            appstreamDeltaDepth: try defaulted(
                d, "appstream-delta-depth", 5, integer("appstream-delta-depth", range: 0...Int(UInt32.max)))
        )
    }

    func hooks(_ value: Any) throws(ConfigError) -> HooksConfig {
        let d = try object(value, allowed: ["publish", "checks"])
        let publish = try optional(d, "publish", strings("publish")) ?? []
        let checksValue =
            try optional(d, "checks") { (v: Any) throws(ConfigError) -> [String: Any] in
                try self.child("checks").object(v, allowed: nil)
            } ?? [:]
        var checks: [String: CheckHook] = [:]
        for (name, checkValue) in checksValue {
            let reader = child("checks").child(name)
            // The grammar `/build/{id}/check/{check_name}/job` is checked against (`CheckName`).
            guard CheckName.isValid(name) else {
                throw reader.error(
                    nil, "not a usable check name (1-255 of A-Z a-z 0-9 _ . -, not starting with . or -)")
            }
            // The per-check object does not reject unknown keys (as upstream).
            let c = try reader.object(checkValue, allowed: nil)
            checks[name] = CheckHook(
                command: try reader.required(c, "command", reader.strings("command")),
                reviewable: try reader.optional(c, "reviewable", reader.bool("reviewable")) ?? false)
        }
        return HooksConfig(publish: publish, checks: checks)
    }

    func deltaRule(_ value: Any) throws(ConfigError) -> DeltaRule {
        let d = try object(value, allowed: ["id", "arch", "depth"])
        return DeltaRule(
            id: try required(d, "id", strings("id")),
            arch: try defaulted(d, "arch", [], strings("arch")),
            depth: try required(d, "depth", integer("depth", range: 0...Int(UInt32.max))))
    }
}
