import FlatManagerCore
import Foundation
import OSTree
import Synchronization
import SystemPackage

/// How many bytes each build has stored through uploads, for `max-build-bytes`; shared by every upload request.
///
/// Kept in memory: the first upload to a build in this process counts what its `upload` directory already holds
/// (after a restart), later uploads add to that. A class because the total is shared state; the lock makes it
/// safe to use from the synchronous part writer on any event loop.
public final class UploadTally: Sendable {
    private let totals = Mutex<[Int32: Int64]>([:])

    public init() {}

    /// The build's stored bytes, counting the uploaded files of its upload repository (`objects/`, `deltas/`; not
    /// the repository's own `config`) the first time the build is seen.
    func total(buildID: Int32, uploadDirectory: String) -> Int64 {
        if let known = totals.withLock({ $0[buildID] }) { return known }
        let counted = ["objects", "deltas"].reduce(Int64(0)) { sum, directory in
            sum.saturatingAdding(Self.bytes(under: uploadDirectory + "/" + directory))
        }
        return totals.withLock { totals in
            if let known = totals[buildID] { return known }
            totals[buildID] = counted
            return counted
        }
    }

    /// Adds `bytes` unless the total would pass `limit`; whether it did.
    func add(_ bytes: Int64, buildID: Int32, limit: Int64) -> Bool {
        totals.withLock { totals in
            guard let sum = Self.sum(totals[buildID] ?? 0, bytes, within: limit) else { return false }
            totals[buildID] = sum
            return true
        }
    }

    /// Whether `bytes` more would still fit under `limit` (nothing is counted).
    func fits(_ bytes: Int64, buildID: Int32, limit: Int64) -> Bool {
        Self.sum(totals.withLock { $0[buildID] ?? 0 }, bytes, within: limit) != nil
    }

    /// `current + bytes` when it neither overflows nor passes `limit`.
    private static func sum(_ current: Int64, _ bytes: Int64, within limit: Int64) -> Int64? {
        let (sum, overflow) = current.addingReportingOverflow(bytes)
        return !overflow && sum <= limit ? sum : nil
    }

    /// Takes `bytes` back off the total.
    func subtract(_ bytes: Int64, buildID: Int32) {
        totals.withLock { totals in
            totals[buildID] = max(0, (totals[buildID] ?? 0) - bytes)
        }
    }

    /// The sizes of the regular files under `directory`; symlinks are neither followed nor counted.
    static func bytes(under directory: String) -> Int64 {
        DirectoryWalk.regularFiles(below: FilePath(directory)).reduce(Int64(0)) { total, file in
            total.saturatingAdding(Int64(clamping: file.size))
        }
    }
}

/// What the build routes enforce beyond upstream, from the configuration: `enforce-branches` and the upload limits.
public struct BuildRules: Sendable {
    /// `enforce-branches`: build refs must be on a branch the token's `branches` claim lists.
    public var enforceBranches: Bool
    /// `max-build-refs`.
    public var maxBuildRefs: Int?
    /// `max-object-bytes`.
    public var maxObjectBytes: Int64?
    /// `max-build-bytes`.
    public var maxBuildBytes: Int64?

    public init(config: Config) {
        enforceBranches = config.enforceBranches
        maxBuildRefs = config.maxBuildRefs
        maxObjectBytes = config.maxObjectBytes
        maxBuildBytes = config.maxBuildBytes
    }
}

/// The `UploadBudget` of one upload request to one build, from the configured limits.
struct BuildUploadBudget: UploadBudget {
    let buildID: Int32
    let maxPartBytes: Int64?
    let maxBuildBytes: Int64?
    let tally: UploadTally

    /// Nil when no limit is configured (the upload then runs exactly as upstream's).
    init?(buildID: Int32, uploadDirectory: String, maxPartBytes: Int64?, maxBuildBytes: Int64?, tally: UploadTally) {
        guard maxPartBytes != nil || maxBuildBytes != nil else { return nil }
        self.buildID = buildID
        self.maxPartBytes = maxPartBytes
        self.maxBuildBytes = maxBuildBytes
        self.tally = tally
        if maxBuildBytes != nil {
            _ = tally.total(buildID: buildID, uploadDirectory: uploadDirectory)  // counts what is there already
        }
    }

    func check(pending: Int64) throws(UploadError) {
        guard let maxBuildBytes else { return }
        if !tally.fits(pending, buildID: buildID, limit: maxBuildBytes) { throw Self.buildTooLarge(maxBuildBytes) }
    }

    func reserve(_ bytes: Int64) throws(UploadError) {
        guard let maxBuildBytes else { return }
        guard tally.add(bytes, buildID: buildID, limit: maxBuildBytes) else { throw Self.buildTooLarge(maxBuildBytes) }
    }

    func release(_ bytes: Int64) {
        guard maxBuildBytes != nil else { return }
        tally.subtract(bytes, buildID: buildID)
    }

    static func buildTooLarge(_ limit: Int64) -> UploadError {
        .tooLarge("Upload would make the build larger than \(limit) bytes (max-build-bytes)")
    }
}
