/// What a finished job reports; the dispatcher stores its JSON (`JobResultEncoder`) in `jobs.results`.
///
/// The shapes are server.md §3.8's table, in one place; the JSON is exactly what the jobs wrote before these types.
public protocol JobResult: Encodable, Sendable {}

/// Refs and their commits in the order they were given: upstream's `refs` object lists them in build-ref order.
public struct RefCommits: Encodable, Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let ref: String
        public let commit: String

        public init(ref: String, commit: String) {
            self.ref = ref
            self.commit = commit
        }
    }

    public private(set) var entries: [Entry]

    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    public mutating func append(ref: String, commit: String) {
        entries.append(Entry(ref: ref, commit: commit))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for entry in entries {
            try container.encode(entry.commit, forKey: AnyKey(entry.ref))
        }
    }
}

/// `{"refs": {"<ref>": "<new commit in the build repo>", …}}`, every build ref.
public struct CommitResult: JobResult, Equatable {
    public let refs: RefCommits
}

/// `{"refs": {"<ref>": "<commit in the main repo>", …}, "update-repo-job": <id>}`, app and runtime refs only.
public struct PublishResult: JobResult, Equatable {
    public let refs: RefCommits
    public let updateRepoJob: Int32

    enum CodingKeys: String, CodingKey {
        case refs
        case updateRepoJob = "update-repo-job"
    }
}

/// `{"update-repo-job": <id>}`.
public struct RepublishResult: JobResult, Equatable {
    public let updateRepoJob: Int32

    enum CodingKeys: String, CodingKey {
        case updateRepoJob = "update-repo-job"
    }
}

/// `{}`.
public struct UpdateRepoResult: JobResult, Equatable {}

/// `{}` (the check's outcome is in its check row).
public struct CheckResult: JobResult, Equatable {}

/// `{"pruned": true}` (upstream's newer prune reports `{}`; ours says that it pruned, which it now always does).
///
/// With a `retention` configured for the repo (ours, issue #15), also the depth it kept and the dry run's report:
/// `{"pruned": true, "depth": 1, "dry-run": {"total-objects": 40, "objects": 12, "bytes": 120000}}`.
public struct PruneResult: JobResult, Equatable {
    public let pruned = true
    public var depth: Int? = nil
    public var dryRun: PruneReport? = nil

    enum CodingKeys: String, CodingKey {
        case pruned
        case depth
        case dryRun = "dry-run"
    }
}

/// `{"refs": {"<ref>": "<new commit>"}, "rolled-back-to": "<earlier commit>", "update-repo-job": <id>}` (ours).
public struct RollbackResult: JobResult, Equatable {
    public let refs: RefCommits
    public let rolledBackTo: String
    public let updateRepoJob: Int32

    enum CodingKeys: String, CodingKey {
        case refs
        case rolledBackTo = "rolled-back-to"
        case updateRepoJob = "update-repo-job"
    }
}

/// A coding key for keys only known at run time (ref names).
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) {
        stringValue = string
    }

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        nil
    }
}
