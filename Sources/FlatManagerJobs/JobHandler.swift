import FlatManagerCore

// Theory of operations
//
// Every piece of background work is a row in `jobs` (server.md §3). The HTTP API inserts commit, publish,
// republish and prune jobs; jobs insert check and update-repo jobs. A `JobDispatcher` runs one worker loop per
// repository queue (publish, update-repo, republish, prune of that repo run one at a time, which keeps two writers
// away from one main repo) and `commit-workers` loops for the global queue (commit and check jobs of different
// builds run in parallel). A loop claims the next runnable job with a lease (`Store.claimNextJob`, `FOR UPDATE
// SKIP LOCKED` on PostgreSQL, a per-repo advisory lock for the serial queues), so several loops and several server
// processes on one database never run a job twice. Leases are renewed while the process lives; a job whose lease
// owner died or whose lease expired is resumed (`Store.recoverInterruptedJobs`, see Resume.swift), or, past
// `job-max-resumes`, broken with upstream's restart rules.
// Each kind is one file with one entry point; a job only appends to its log and changes build/check state through
// the store; the dispatcher alone writes the final status and results. Every claim carries a fencing token (the
// lease generation): the job's store writes, log lines and final status are conditional on it, its commands are
// bracketed by lease checks, and a watcher cancels the job (killing its tool's process group) once the lease is
// gone, so a stalled process never writes after another one took its job over (JobDispatcher+Fencing.swift).
// Writers of one main repository also hold a lock that dies with them (RepoLock.swift).

/// One entry point per job kind (STYLE habit 7).
public protocol JobHandler: Sendable {
    /// What the kind reports when it succeeds (server.md §3.8).
    associatedtype Output: JobResult
    static var kind: JobKind { get }
    /// Does the work and returns its result; build/check state changes happen inside.
    func run(in context: JobContext) async throws(JobError) -> Output
}

enum JobHandlers {
    /// The handler for a job row, or an error for contents that do not parse ("Unknown job type").
    static func handler(for job: Job) throws(JobError) -> any JobHandler {
        guard let contents = JobContents(kind: job.kind, json: job.contents) else {
            throw .invalidJob("Unknown job type or invalid contents: \(job.contents)")
        }
        switch contents {
        case .commit(let build, let eol, let rebase, let tokenType):
            return CommitJob(buildID: build, endOfLife: eol, endOfLifeRebase: rebase, tokenType: tokenType)
        case .publish(let build, let allowDowngrade):
            return PublishJob(buildID: build, allowDowngrade: allowDowngrade)
        case .updateRepo(let repo):
            return UpdateRepoJob(repo: repo)
        case .check(let build, let name):
            return CheckJob(buildID: build, name: name)
        case .republish(let app, let eol, let rebase):
            return RepublishJob(app: app, endOfLife: eol, endOfLifeRebase: rebase)
        case .prune:
            return PruneJob()
        case .rollback(let ref, let commit):
            return RollbackJob(ref: ref, commit: commit)
        }
    }
}
