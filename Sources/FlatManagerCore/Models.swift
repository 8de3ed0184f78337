/// One row of `builds`, serialised exactly as upstream's Build JSON (api.md §3.2).
public struct Build: Sendable, Equatable, Codable {
    public var id: Int32
    public var created: Timestamp
    public var repoState: RepoState
    public var repoStateReason: String?
    public var publishedState: PublishedState
    public var publishedStateReason: String?
    public var commitJobID: Int32?
    public var publishJobID: Int32?
    public var repo: String
    public var extraIDs: [String]
    public var appID: String?
    public var publicDownload: Bool
    public var buildLogURL: String?
    public var tokenName: String?
    public var tokenType: String?
    public var tokenBranches: [String]?

    public init(
        id: Int32, created: Timestamp, repoState: RepoState = .uploading, repoStateReason: String? = nil,
        publishedState: PublishedState = .unpublished, publishedStateReason: String? = nil,
        commitJobID: Int32? = nil, publishJobID: Int32? = nil, repo: String, extraIDs: [String] = [],
        appID: String? = nil, publicDownload: Bool = true, buildLogURL: String? = nil, tokenName: String? = nil,
        tokenType: String? = nil, tokenBranches: [String]? = nil
    ) {
        self.id = id
        self.created = created
        self.repoState = repoState
        self.repoStateReason = repoStateReason
        self.publishedState = publishedState
        self.publishedStateReason = publishedStateReason
        self.commitJobID = commitJobID
        self.publishJobID = publishJobID
        self.repo = repo
        self.extraIDs = extraIDs
        self.appID = appID
        self.publicDownload = publicDownload
        self.buildLogURL = buildLogURL
        self.tokenName = tokenName
        self.tokenType = tokenType
        self.tokenBranches = tokenBranches
    }

    enum CodingKeys: String, CodingKey {
        case id, created, repo
        case repoState = "repo_state"
        case repoStateReason = "repo_state_reason"
        case publishedState = "published_state"
        case publishedStateReason = "published_state_reason"
        case commitJobID = "commit_job_id"
        case publishJobID = "publish_job_id"
        case extraIDs = "extra_ids"
        case appID = "app_id"
        case publicDownload = "public_download"
        case buildLogURL = "build_log_url"
        case tokenName = "token_name"
        case tokenType = "token_type"
        case tokenBranches = "token_branches"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int32.self, forKey: .id)
        created = try c.decode(Timestamp.self, forKey: .created)
        repoState = RepoState(rawValue: try c.decode(Int16.self, forKey: .repoState)) ?? .failed
        repoStateReason = try c.decodeIfPresent(String.self, forKey: .repoStateReason)
        publishedState = PublishedState(rawValue: try c.decode(Int16.self, forKey: .publishedState)) ?? .failed
        publishedStateReason = try c.decodeIfPresent(String.self, forKey: .publishedStateReason)
        commitJobID = try c.decodeIfPresent(Int32.self, forKey: .commitJobID)
        publishJobID = try c.decodeIfPresent(Int32.self, forKey: .publishJobID)
        repo = try c.decode(String.self, forKey: .repo)
        extraIDs = try c.decodeIfPresent([String].self, forKey: .extraIDs) ?? []
        appID = try c.decodeIfPresent(String.self, forKey: .appID)
        publicDownload = try c.decodeIfPresent(Bool.self, forKey: .publicDownload) ?? true
        buildLogURL = try c.decodeIfPresent(String.self, forKey: .buildLogURL)
        tokenName = try c.decodeIfPresent(String.self, forKey: .tokenName)
        tokenType = try c.decodeIfPresent(String.self, forKey: .tokenType)
        tokenBranches = try c.decodeIfPresent([String].self, forKey: .tokenBranches)
    }

    // Reason and job ids are omitted when unset; the other optionals are written as null (upstream's shape).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(created, forKey: .created)
        try c.encode(repoState.rawValue, forKey: .repoState)
        try c.encodeIfPresent(repoStateReason, forKey: .repoStateReason)
        try c.encode(publishedState.rawValue, forKey: .publishedState)
        try c.encodeIfPresent(publishedStateReason, forKey: .publishedStateReason)
        try c.encodeIfPresent(commitJobID, forKey: .commitJobID)
        try c.encodeIfPresent(publishJobID, forKey: .publishJobID)
        try c.encode(repo, forKey: .repo)
        try c.encode(extraIDs, forKey: .extraIDs)
        try c.encode(appID, forKey: .appID)
        try c.encode(publicDownload, forKey: .publicDownload)
        try c.encode(buildLogURL, forKey: .buildLogURL)
        try c.encode(tokenName, forKey: .tokenName)
        try c.encode(tokenType, forKey: .tokenType)
        try c.encode(tokenBranches, forKey: .tokenBranches)
    }
}

/// One row of `build_refs` (api.md §3.3); all five members are always present.
public struct BuildRef: Sendable, Equatable, Codable {
    public var id: Int32
    public var buildID: Int32
    public var refName: String
    public var commit: String
    public var buildLogURL: String?

    public init(id: Int32, buildID: Int32, refName: String, commit: String, buildLogURL: String? = nil) {
        self.id = id
        self.buildID = buildID
        self.refName = refName
        self.commit = commit
        self.buildLogURL = buildLogURL
    }

    enum CodingKeys: String, CodingKey {
        case id, commit
        case buildID = "build_id"
        case refName = "ref_name"
        case buildLogURL = "build_log_url"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(buildID, forKey: .buildID)
        try c.encode(refName, forKey: .refName)
        try c.encode(commit, forKey: .commit)
        try c.encode(buildLogURL, forKey: .buildLogURL)
    }
}

/// One row of `jobs` (api.md §3.5). `contents` and `results` are JSON documents stored (and sent) as strings.
public struct Job: Sendable, Equatable, Codable {
    public var id: Int32
    public var kind: JobKind
    public var status: JobStatus
    public var contents: String
    public var results: String?
    public var log: String
    public var startAfter: Timestamp?
    public var repo: String?

    public init(
        id: Int32, kind: JobKind, status: JobStatus = .new, contents: String, results: String? = nil,
        log: String = "", startAfter: Timestamp? = nil, repo: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.status = status
        self.contents = contents
        self.results = results
        self.log = log
        self.startAfter = startAfter
        self.repo = repo
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, status, contents, results, log, repo
        case startAfter = "start_after"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int32.self, forKey: .id)
        kind = JobKind(rawValue: try c.decode(Int16.self, forKey: .kind)) ?? .commit
        status = JobStatus(rawValue: try c.decode(Int16.self, forKey: .status)) ?? .broken
        contents = try c.decode(String.self, forKey: .contents)
        results = try c.decodeIfPresent(String.self, forKey: .results)
        log = try c.decodeIfPresent(String.self, forKey: .log) ?? ""
        startAfter = try c.decodeIfPresent(SystemTimeObject.self, forKey: .startAfter)?.timestamp
        repo = try c.decodeIfPresent(String.self, forKey: .repo)
    }

    // `results` is omitted (never null) while unset: the 0.4.2 client does json.loads(job.get("results", "{}")).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind.rawValue, forKey: .kind)
        try c.encode(status.rawValue, forKey: .status)
        try c.encode(contents, forKey: .contents)
        try c.encodeIfPresent(results, forKey: .results)
        try c.encode(log, forKey: .log)
        try c.encode(startAfter.map(SystemTimeObject.init), forKey: .startAfter)
        try c.encode(repo, forKey: .repo)
    }

    /// The job with its log cut to start at `offset` bytes, moved forward to a character boundary (api.md §4.4).
    public func withLog(fromByteOffset offset: Int?) -> Job {
        guard let offset, offset > 0 else { return self }
        var copy = self
        copy.log = Self.suffix(of: log, fromByteOffset: offset)
        return copy
    }

    static func suffix(of log: String, fromByteOffset offset: Int) -> String {
        let utf8 = log.utf8
        guard offset < utf8.count else { return "" }
        var index = utf8.index(utf8.startIndex, offsetBy: offset)
        // Skip UTF-8 continuation bytes so the cut never splits a character.
        while index < utf8.endIndex, utf8[index] & 0xC0 == 0x80 { index = utf8.index(after: index) }
        return String(log[index...])
    }
}

/// One row of `checks` (api.md §3.4).
public struct Check: Sendable, Equatable, Codable {
    public var checkName: String
    public var buildID: Int32
    public var jobID: Int32
    public var status: CheckStatus
    public var results: String?

    public init(checkName: String, buildID: Int32, jobID: Int32, status: CheckStatus = .pending, results: String? = nil)
    {
        self.checkName = checkName
        self.buildID = buildID
        self.jobID = jobID
        self.status = status
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case status, results
        case checkName = "check_name"
        case buildID = "build_id"
        case jobID = "job_id"
        case statusReason = "status_reason"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkName = try c.decode(String.self, forKey: .checkName)
        buildID = try c.decode(Int32.self, forKey: .buildID)
        jobID = try c.decode(Int32.self, forKey: .jobID)
        status = CheckStatus(
            code: try c.decode(Int16.self, forKey: .status),
            reason: try c.decodeIfPresent(String.self, forKey: .statusReason))
        results = try c.decodeIfPresent(String.self, forKey: .results)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkName, forKey: .checkName)
        try c.encode(buildID, forKey: .buildID)
        try c.encode(jobID, forKey: .jobID)
        try c.encode(status.code, forKey: .status)
        try c.encode(status.reason, forKey: .statusReason)
        try c.encode(results, forKey: .results)
    }
}

/// One row of `tokens` (api.md §3.6).
public struct TokenUsage: Sendable, Equatable, Codable {
    public var tokenID: String
    public var expires: Timestamp?
    public var lastUsed: Timestamp?
    public var revokedAt: Timestamp?

    public init(tokenID: String, expires: Timestamp? = nil, lastUsed: Timestamp? = nil, revokedAt: Timestamp? = nil) {
        self.tokenID = tokenID
        self.expires = expires
        self.lastUsed = lastUsed
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case expires
        case tokenID = "token_id"
        case lastUsed = "last_used"
        case revokedAt = "revoked_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(expires, forKey: .expires)
        try c.encode(lastUsed, forKey: .lastUsed)
        try c.encode(revokedAt, forKey: .revokedAt)
    }
}

/// `{"build": …, "build_refs": […], "checks": […]}` of `GET /build/{id}/extended`.
public struct ExtendedBuild: Sendable, Equatable, Codable {
    public var build: Build
    public var buildRefs: [BuildRef]
    public var checks: [Check]

    public init(build: Build, buildRefs: [BuildRef], checks: [Check]) {
        self.build = build
        self.buildRefs = buildRefs
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case build, checks
        case buildRefs = "build_refs"
    }
}
