import Foundation
import SystemPackage

// The structure of config.json, declared once: each type's `CodingKeys` are the keys its object accepts (any
// other is refused, server.md §1.2), and its `init(from:)` says, key by key, whether the key is required, optional
// or defaulted and what kind of value it holds (the rules are in `ConfigValue.swift`). Keys are read in the order
// the former hand-written reader used, so that of several problems the same one is reported.

extension Config: Decodable {
    private enum CodingKeys: String, CodingKey {
        case databaseURL = "database-url"
        case host
        case port
        case baseURL = "base-url"
        case gpgHomedir = "gpg-homedir"
        case secret
        case repoSecret = "repo-secret"
        case tokenPrefix = "token-prefix"
        case repos
        case buildRepoBase = "build-repo-base"
        case buildGPGKeys = "build-gpg-key"
        case delayUpdateSecs = "delay-update-secs"
        case localDeltaThreads = "local-delta-threads"
        case storefrontInfoEndpoint = "storefront-info-endpoint"
        case workers
        case commitWorkers = "commit-workers"
        case gpgBinary = "gpg-binary"
        case enforceBranches = "enforce-branches"
        case logFormat = "log-format"
        case deltaTimeoutSecs = "delta-timeout-secs"
        case shutdownTimeoutSecs = "shutdown-timeout-secs"
        case jobShutdownTimeoutSecs = "job-shutdown-timeout-secs"
        case httpHeaderTimeoutSecs = "http-header-timeout-secs"
        case httpIdleTimeoutSecs = "http-idle-timeout-secs"
        case maxBuildBytes = "max-build-bytes"
        case maxObjectBytes = "max-object-bytes"
        case maxBuildRefs = "max-build-refs"
        case statusRequiresToken = "status-requires-token"
        case hookEnvironment = "hook-environment"
        case jobMaxResumes = "job-max-resumes"
        case failedBuildRetentionHours = "failed-build-retention-hours"
        case tokenPublicKeys = "token-public-keys"
        case webhooks
        case webhookDelivery = "webhook-delivery"
    }

    /// The file as written, not yet validated: use `Config.parse` or `Config.load`, which also validate.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        let int32 = Int(Int32.min)...Int(Int32.max)
        let seconds = 0...Int(Int32.max)
        repos = try c.required(.repos, .named(RepoConfig.self))
        databaseURL = try c.optional(.databaseURL, .string)
        host = try c.defaulted(.host, "127.0.0.1", .string)
        port = try c.defaulted(.port, 8080, .integer(in: int32))
        baseURL = try c.defaulted(.baseURL, "", .string)
        gpgHomedir = try c.optional(.gpgHomedir, .string).map { FilePath($0) }
        secret = try c.required(.secret, .string)
        repoSecret = try c.omittable(.repoSecret, .string)
        tokenPrefix = try c.optional(.tokenPrefix, .string)
        buildRepoBase = FilePath(try c.required(.buildRepoBase, .string))
        buildGPGKeys = try c.optional(.buildGPGKeys, .keyList) ?? []
        delayUpdateSecs = try c.defaulted(.delayUpdateSecs, 0, .integer(in: seconds))
        localDeltaThreads = try c.defaulted(.localDeltaThreads, 1, .integer(in: 1...1024))
        storefrontInfoEndpoint = try c.optional(.storefrontInfoEndpoint, .string)
        workers = try c.optional(.workers, .integer(in: 1...1024))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        commitWorkers = try c.defaulted(.commitWorkers, cores, .integer(in: 1...1024))
        gpgBinary = try c.defaulted(.gpgBinary, "gpg", .string)
        enforceBranches = try c.defaulted(.enforceBranches, false, .bool)
        logFormat = try c.defaulted(.logFormat, .text, .logFormat)
        deltaTimeoutSecs = try c.defaulted(.deltaTimeoutSecs, 3600, .integer(in: 1...Int(Int32.max)))
        shutdownTimeoutSecs = try c.defaulted(.shutdownTimeoutSecs, 30, .integer(in: seconds))
        jobShutdownTimeoutSecs = try c.defaulted(.jobShutdownTimeoutSecs, 3600, .integer(in: seconds))
        httpHeaderTimeoutSecs = try c.defaulted(.httpHeaderTimeoutSecs, 60, .integer(in: seconds))
        httpIdleTimeoutSecs = try c.defaulted(.httpIdleTimeoutSecs, 60, .integer(in: seconds))
        maxBuildBytes = try c.optional(.maxBuildBytes, .integer(in: 1...Int.max)).map(Int64.init)
        maxObjectBytes = try c.optional(.maxObjectBytes, .integer(in: 1...Int.max)).map(Int64.init)
        maxBuildRefs = try c.optional(.maxBuildRefs, .integer(in: 1...Int(Int32.max)))
        statusRequiresToken = try c.defaulted(.statusRequiresToken, false, .bool)
        hookEnvironment = try c.optional(.hookEnvironment, .strings)
        jobMaxResumes = try c.defaulted(.jobMaxResumes, 3, .integer(in: 0...1000))
        failedBuildRetentionHours = try c.defaulted(.failedBuildRetentionHours, 24, .integer(in: 0...87600))
        tokenPublicKeys = try c.defaulted(.tokenPublicKeys, [], .list(of: TokenPublicKeyEntry.self)).map(\.key)
        webhooks = try c.defaulted(.webhooks, [], .list(of: WebhookConfig.self))
        webhookDelivery = try c.defaulted(.webhookDelivery, WebhookDeliveryPolicy(), .object)
    }
}

/// A member of `token-public-keys`: `{"kid": ..., "alg": "EdDSA" | "ES256", "key": "<PEM>"}`, read into a key.
struct TokenPublicKeyEntry: Decodable {
    let key: TokenPublicKey

    private enum CodingKeys: String, CodingKey {
        case kid, alg, key
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        let kid = try c.required(.kid, .string)
        let name = try c.required(.alg, .string)
        guard let algorithm = TokenAlgorithm(rawValue: name) else {
            throw ConfigDecodingProblem(at: decoder.codingPath + [CodingKeys.alg], "must be \"EdDSA\" or \"ES256\"")
        }
        let pem = try c.required(.key, .string)
        do {
            key = try TokenPublicKey(kid: kid, algorithm: algorithm, pem: pem)
        } catch {
            throw ConfigDecodingProblem(at: decoder.codingPath + [CodingKeys.key], error.message)
        }
    }
}

extension RepoConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case path
        case collectionID = "collection-id"
        case deployCollectionID = "deploy-collection-id"
        case suggestedRepoName = "suggested-repo-name"
        case runtimeRepoURL = "runtime-repo-url"
        case gpgKeys = "gpg-key"
        case baseURL = "base-url"
        case defaultTokenType = "default-token-type"
        case requireAuthForTokenTypes = "require-auth-for-token-types"
        case subsets
        case postPublishScript = "post-publish-script"
        case hooks
        case deltas
        case appstreamDeltaDepth = "appstream-delta-depth"
        case downgradeProtection = "downgrade-protection"
        case metadataLint = "metadata-lint"
        case installableFirst = "installable-first"
        case retention
    }

    /// A member of `repos`; its `name` is its key there (the last key of the coding path).
    public init(from decoder: any Decoder) throws {
        name = decoder.codingPath.last?.stringValue ?? ""
        let c = try decoder.object(keyedBy: CodingKeys.self)
        let int32 = Int(Int32.min)...Int(Int32.max)
        subsets = try c.required(.subsets, .named(SubsetConfig.self))
        hooks = try c.defaulted(.hooks, HooksConfig(), .object)
        deltas = try c.defaulted(.deltas, [], .list(of: DeltaRule.self))
        requireAuthForTokenTypes = try c.defaulted(.requireAuthForTokenTypes, [], .tokenTypes)
        path = FilePath(try c.required(.path, .string))
        collectionID = try c.optional(.collectionID, .string)
        deployCollectionID = try c.defaulted(.deployCollectionID, false, .bool)
        suggestedRepoName = try c.optional(.suggestedRepoName, .string)
        runtimeRepoURL = try c.optional(.runtimeRepoURL, .string)
        gpgKeys = try c.optional(.gpgKeys, .keyList) ?? []
        baseURL = try c.optional(.baseURL, .string)
        // In range by the check, so the conversion cannot trap.
        defaultTokenType = Int32(try c.defaulted(.defaultTokenType, 0, .integer(in: int32)))
        postPublishScript = try c.optional(.postPublishScript, .string)
        appstreamDeltaDepth = try c.defaulted(.appstreamDeltaDepth, 5, .integer(in: 0...Int(UInt32.max)))
        downgradeProtection = try c.defaulted(.downgradeProtection, false, .bool)
        metadataLint = try c.defaulted(.metadataLint, false, .bool)
        installableFirst = try c.defaulted(.installableFirst, false, .bool)
        retention = try c.optional(.retention, .object)
    }
}

extension SubsetConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case collectionID = "collection-id"
        case baseURL = "base-url"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        collectionID = try c.required(.collectionID, .string)
        baseURL = try c.optional(.baseURL, .string)
    }
}

extension HooksConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case publish
        case checks
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        publish = try c.optional(.publish, .strings) ?? []
        checks = try c.optional(.checks, .named(CheckHook.self)) ?? [:]
    }
}

extension CheckHook: Decodable {
    private enum CodingKeys: String, CodingKey {
        case command
        case reviewable
    }

    /// A member of `hooks.checks`. Its name (its key there) must fit the grammar that
    /// `/build/{id}/check/{check_name}/job` is checked against (`CheckName`). The object itself does not refuse
    /// unknown keys, as upstream.
    public init(from decoder: any Decoder) throws {
        guard CheckName.isValid(decoder.codingPath.last?.stringValue ?? "") else {
            throw ConfigDecodingProblem(
                at: decoder.codingPath,
                "not a usable check name (1-255 of A-Z a-z 0-9 _ . -, not starting with . or -)")
        }
        let c = try decoder.object(keyedBy: CodingKeys.self, refusingUnknownKeys: false)
        command = try c.required(.command, .strings)
        reviewable = try c.optional(.reviewable, .bool) ?? false
    }
}

extension DeltaRule: Decodable {
    private enum CodingKeys: String, CodingKey {
        case id
        case arch
        case depth
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        id = try c.required(.id, .strings)
        arch = try c.defaulted(.arch, [], .strings)
        depth = try c.required(.depth, .integer(in: 0...Int(UInt32.max)))
    }
}
