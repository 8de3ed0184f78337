/// A build's `repo_state` (spec server.md §2.3). Unknown stored values read as `failed`.
public enum RepoState: Int16, Sendable, Codable, CaseIterable {
    case uploading = 0
    case committing = 1
    case ready = 2
    case failed = 3
    case purging = 4
    case purged = 5
    case validating = 6

    /// Lower-case name used as `current-state`/`expected-state` in errors.
    public var name: String {
        switch self {
        case .uploading: "uploading"
        case .committing: "committing"
        case .ready: "ready"
        case .failed: "failed"
        case .purging: "purging"
        case .purged: "purged"
        case .validating: "validating"
        }
    }
}

/// A build's `published_state`. Unknown stored values read as `failed`.
public enum PublishedState: Int16, Sendable, Codable, CaseIterable {
    case unpublished = 0
    case publishing = 1
    case published = 2
    case failed = 3

    public var name: String {
        switch self {
        case .unpublished: "unpublished"
        case .publishing: "publishing"
        case .published: "published"
        case .failed: "failed"
        }
    }
}

/// The kind of a job; the raw value is the `jobs.kind` column.
public enum JobKind: Int16, Sendable, Codable, CaseIterable {
    case commit = 0
    case publish = 1
    case updateRepo = 2
    case republish = 3
    case check = 4
    case prune = 5
    /// Ours (issue #15): far from upstream's numbers so a future upstream kind cannot collide with it.
    case rollback = 100

    /// Ordering among ready jobs of one queue: lower runs first (server.md §3.2).
    public var priority: Int {
        switch self {
        case .commit: 0
        case .publish, .check, .republish, .rollback: 1
        case .updateRepo: 2
        case .prune: 100
        }
    }

    /// The enum name shown on status pages.
    public var displayName: String {
        switch self {
        case .commit: "Commit"
        case .publish: "Publish"
        case .updateRepo: "UpdateRepo"
        case .republish: "Republish"
        case .check: "Check"
        case .prune: "Prune"
        case .rollback: "Rollback"
        }
    }

    /// Label value for metrics and logs.
    public var label: String {
        switch self {
        case .commit: "commit"
        case .publish: "publish"
        case .updateRepo: "update_repo"
        case .republish: "republish"
        case .check: "check"
        case .prune: "prune"
        case .rollback: "rollback"
        }
    }

    /// Whether jobs of this kind run on a repository's queue (otherwise on the global one).
    public var runsOnRepoQueue: Bool {
        switch self {
        case .commit, .check: false
        case .publish, .updateRepo, .republish, .prune, .rollback: true
        }
    }
}

/// A job's `status` column.
public enum JobStatus: Int16, Sendable, Codable, CaseIterable {
    case new = 0
    case started = 1
    case ended = 2
    case broken = 3

    public var displayName: String {
        switch self {
        case .new: "New"
        case .started: "Started"
        case .ended: "Ended"
        case .broken: "Broken"
        }
    }

    public var isFinished: Bool { self == .ended || self == .broken }
}

/// A check's status; `reason` is the `status_reason` column.
public enum CheckStatus: Sendable, Equatable {
    case pending
    case passed
    case passedWithWarnings(String)
    case failed(String)
    case reviewRequired(String)

    public var code: Int16 {
        switch self {
        case .pending: 0
        case .passed: 1
        case .passedWithWarnings: 2
        case .failed: 3
        case .reviewRequired: 4
        }
    }

    public var reason: String? {
        switch self {
        case .pending, .passed: nil
        case .passedWithWarnings(let r), .failed(let r), .reviewRequired(let r): r
        }
    }

    /// Passed, passed with warnings and failed are finished; pending and review-required are not.
    public var isFinished: Bool {
        switch self {
        case .passed, .passedWithWarnings, .failed: true
        case .pending, .reviewRequired: false
        }
    }

    /// Rebuilds the status from its columns; unknown codes read as failed ("Invalid status").
    public init(code: Int16, reason: String?) {
        switch code {
        case 0: self = .pending
        case 1: self = .passed
        case 2: self = .passedWithWarnings(reason ?? "")
        case 3: self = .failed(reason ?? "")
        case 4: self = .reviewRequired(reason ?? "")
        default: self = .failed("Invalid status")
        }
    }

    public var name: String {
        switch self {
        case .pending: "Pending"
        case .passed: "Passed"
        case .passedWithWarnings: "PassedWithWarnings"
        case .failed: "Failed"
        case .reviewRequired: "ReviewRequired"
        }
    }
}
