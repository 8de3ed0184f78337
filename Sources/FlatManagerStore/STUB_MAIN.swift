// TEMPORARY stub of the Store contract so the Jobs/API modules compile before the real module is merged.
import FlatManagerCore
import Logging

public enum DatabaseKind: Sendable { case postgres, sqlite }
public enum StoreError: Error, Sendable { case invalidURL(String), notFound, conflict(String), database(String) }
public final class Store: Sendable {
    public static func open(databaseURL: String?, workingDirectory: String, logger: Logger) async throws -> Store { fatalError() }
    public var kind: DatabaseKind { .sqlite }
    public func close() async throws {}
    public func migrate() async throws {}
    public func createBuild(repo: String, appID: String?, publicDownload: Bool, buildLogURL: String?, tokenName: String?, tokenType: String?, tokenBranches: [String]?) async throws -> Build { fatalError() }
    public func build(id: Int32) async throws -> Build? { fatalError() }
    public func builds(appID: String?) async throws -> [Build] { fatalError() }
    public func addExtraIDs(_ ids: [String], buildID: Int32) async throws -> Build? { fatalError() }
    public func setBuildFailed(id: Int32, reason: String) async throws {}
    public func upsertBuildRef(buildID: Int32, refName: String, commit: String, buildLogURL: String?) async throws -> BuildRef { fatalError() }
    public func buildRefs(buildID: Int32) async throws -> [BuildRef] { fatalError() }
    public func buildRef(id: Int32, buildID: Int32) async throws -> BuildRef? { fatalError() }
    public enum Transition<T: Sendable>: Sendable { case done(T), refused(Build) }
    public enum CommitOutcome: Sendable { case ready, validating(checks: [String]), failed(String) }
    public func beginCommit(buildID: Int32, contents: JobContents) async throws -> Transition<Job>? { fatalError() }
    public func finishCommit(buildID: Int32, outcome: CommitOutcome) async throws -> Bool { fatalError() }
    public func beginPublish(buildID: Int32) async throws -> Transition<Job>? { fatalError() }
    public func finishPublish(buildID: Int32, failure: String?) async throws -> Bool { fatalError() }
    public func beginPurge(buildID: Int32) async throws -> Transition<Build>? { fatalError() }
    public func finishPurge(buildID: Int32, failure: String?) async throws -> Build { fatalError() }
    public func createJob(kind: JobKind, contents: JobContents, repo: String?, startAfter: Timestamp?) async throws -> Job { fatalError() }
    public func job(id: Int32) async throws -> Job? { fatalError() }
    public func activeJobs() async throws -> [Job] { fatalError() }
    public func appendJobLog(id: Int32, text: String) async throws {}
    public enum QueueSelector: Sendable, Hashable { case global; case repo(String) }
    public func claimNextJob(queue: QueueSelector, owner: String, leaseSeconds: Int, allowConcurrent: Bool) async throws -> Job? { fatalError() }
    public func renewLeases(owner: String, leaseSeconds: Int) async throws {}
    public func finishJob(id: Int32, status: JobStatus, results: String) async throws {}
    public func queueUpdateRepo(repo: String, startingJob: Int32?, delaySeconds: Int) async throws -> (isNew: Bool, job: Job) { fatalError() }
    public func recoverInterruptedJobs(owner: String, isOwnerAlive: @Sendable (String) -> Bool) async throws -> [String] { [] }
    public func checks(buildID: Int32) async throws -> [Check] { fatalError() }
    public func check(jobID: Int32) async throws -> Check? { fatalError() }
    public func setCheckStatus(jobID: Int32, status: CheckStatus, results: String?, onlyIfPendingUnlessFailed: Bool) async throws -> Check? { fatalError() }
    public func recordTokenUse(jti: String, expires: Timestamp) async throws -> Bool { true }
    public func revokeTokens(_ ids: [String]) async throws {}
    public func tokenUsages(_ ids: [String]) async throws -> [TokenUsage] { [] }
}
