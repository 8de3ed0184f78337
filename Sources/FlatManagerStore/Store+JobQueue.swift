import FlatManagerCore
import SQLKit

/// Theory of operations of the queue in the database.
///
/// A job is claimed by setting it Started and writing a lease (`job_leases`: owner, expiry, fencing generation;
/// see Store+Leases.swift) in the same transaction. On PostgreSQL the candidate row is selected `FOR NO KEY UPDATE SKIP LOCKED`, so concurrent claimers in
/// any number of processes each get a different job; a queue that runs one job at a time additionally takes a
/// transaction-scoped advisory lock on the queue's name, so "is anything of this queue Started?" and "start this
/// one" cannot interleave between processes. SQLite serves a single process and every transaction there is
/// `BEGIN IMMEDIATE`, which serialises writers. Owners renew their leases while they work; a Started job whose
/// lease expired or whose owner is dead is recovered by `recoverInterruptedJobs` (server.md §3.6).
extension Store {
    /// Which queue (executor) a claim serves: the global one (commit and check jobs, `repo` NULL) or a repo's.
    public enum QueueSelector: Sendable, Hashable {
        case global
        case repo(String)

        /// The key of the advisory lock that serialises claims on this queue across processes.
        var lockKey: String {
            switch self {
            case .global: "flat-manager-queue-global"
            case .repo(let repo): "flat-manager-queue:" + repo
            }
        }
    }

    /// Claims the next runnable job of `queue`: New, `start_after` unset or past, every dependency Ended or
    /// Broken; lowest kind priority first, then lowest id (server.md §3.2). Sets it Started with a lease for
    /// `owner`. With `allowConcurrent` false nothing is handed out while another job of the queue is Started.
    public func claimNextJob(queue: QueueSelector, owner: String, leaseSeconds: Int, allowConcurrent: Bool)
        async throws -> Job?
    {
        try await claimNextJobLease(
            queue: queue, owner: owner, leaseSeconds: leaseSeconds, allowConcurrent: allowConcurrent)?.job
    }

    /// Inside the claim's transaction: picks the next runnable job of `queue` and sets it Started.
    func startNextJob(queue: QueueSelector, now: Timestamp, allowConcurrent: Bool, in db: any SQLDatabase)
        async throws -> Job?
    {
        if !allowConcurrent {
            guard try await isQueueIdle(queue, in: db) else { return nil }
        }
        guard let id = try await nextRunnableJobID(queue: queue, now: now, in: db) else { return nil }
        let row = try await db.raw(
            """
            UPDATE jobs SET status = \(bind: JobStatus.started.rawValue) WHERE id = \(bind: id)
            RETURNING \(unsafeRaw: Self.jobColumns)
            """
        ).first()
        try await recordJobTime(.started, jobID: id, at: now, in: db)
        return try decodeJob(unwrapRow(row))
    }

    /// Pushes back the expiry of every lease held by `owner`.
    public func renewLeases(owner: String, leaseSeconds: Int) async throws {
        let expires = Timestamp.now().adding(seconds: Int64(leaseSeconds))
        try await withDatabase { db in
            try await db.raw(
                "UPDATE job_leases SET expires_at = \(bind: bind(expires)) WHERE owner = \(bind: owner)"
            ).run()
        }
    }

    private func queueFilter(_ queue: QueueSelector) -> SQLQueryString {
        switch queue {
        case .global: "repo IS NULL"
        case .repo(let repo): "repo = \(bind: repo)"
        }
    }

    private func isQueueIdle(_ queue: QueueSelector, in db: any SQLDatabase) async throws -> Bool {
        if kind == .postgres {
            try await db.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: queue.lockKey)))").run()
        }
        let running = try await db.raw(
            """
            SELECT id FROM jobs WHERE status = \(bind: JobStatus.started.rawValue) AND \(queueFilter(queue)) LIMIT 1
            """
        ).first()
        return running == nil
    }

    private func nextRunnableJobID(queue: QueueSelector, now: Timestamp, in db: any SQLDatabase) async throws
        -> Int32?
    {
        let row = try await db.raw(
            """
            SELECT id FROM jobs WHERE status = \(bind: JobStatus.new.rawValue)
            AND (start_after IS NULL OR start_after <= \(bind: bind(now))) AND \(queueFilter(queue))
            AND NOT EXISTS (SELECT 1 FROM job_dependencies_with_status d WHERE d.job_id = jobs.id
                AND d.dependant_status <= \(bind: JobStatus.started.rawValue))
            ORDER BY \(unsafeRaw: Self.priorityExpression), id LIMIT 1\(unsafeRaw: skipLocked)
            """
        ).first()
        return try row?.int32("id")
    }

    /// Rows another claimer has locked are skipped rather than waited for (PostgreSQL).
    private var skipLocked: String { kind == .postgres ? forJobUpdate + " SKIP LOCKED" : "" }

    /// `CASE kind WHEN 0 THEN 0 … END` from `JobKind.priority`; unknown kinds sort first (and fail when run).
    static let priorityExpression: String = {
        let cases = JobKind.allCases.map { "WHEN \($0.rawValue) THEN \($0.priority)" }.joined(separator: " ")
        return "CASE kind \(cases) ELSE 0 END"
    }()

    /// Queues an update-repo job for `repo`, coalescing (server.md §3.5): a New one is reused (its start time is
    /// not pushed back); otherwise a new one starts after `delaySeconds`, chained behind a Started one. The job
    /// always gets a dependency on `startingJob` when given.
    public func queueUpdateRepo(repo: String, startingJob: Int32?, delaySeconds: Int) async throws
        -> (isNew: Bool, job: Job)
    {
        let startAfter = Timestamp.now().adding(seconds: Int64(delaySeconds))
        let (isNew, job) = try await transaction { db in
            if kind == .postgres {
                try await db.raw(
                    "SELECT pg_advisory_xact_lock(hashtext(\(bind: "flat-manager-update-repo:" + repo)))"
                ).run()
            }
            let latest = try await latestUpdateJob(repo: repo, in: db)
            var result = (isNew: false, job: latest)
            if latest?.status != .new {
                let created = try await insertJob(
                    kind: .updateRepo, contents: .updateRepo(repo: repo), repo: repo, startAfter: startAfter, in: db)
                if let running = latest {
                    try await addDependency(jobID: created.id, dependsOn: running.id, in: db)
                }
                result = (isNew: true, job: created)
            }
            let job = try unwrapRow(result.job, "update-repo job")
            if let startingJob {
                try await addDependency(jobID: job.id, dependsOn: startingJob, in: db)
            }
            return (result.isNew, job)
        }
        return (isNew: isNew, job: job)
    }

    /// The highest-id update-repo job of `repo` that is New or Started. We select on the `repo` column, which
    /// always equals the `repo` of the contents for jobs this server writes.
    private func latestUpdateJob(repo: String, in db: any SQLDatabase) async throws -> Job? {
        let row = try await db.raw(
            """
            SELECT \(unsafeRaw: Self.jobColumns) FROM jobs WHERE kind = \(bind: JobKind.updateRepo.rawValue)
            AND repo = \(bind: repo) AND status <= \(bind: JobStatus.started.rawValue)
            ORDER BY id DESC LIMIT 1\(unsafeRaw: forJobUpdate)
            """
        ).first()
        return try row.map(decodeJob)
    }
}

/// The log line upstream writes after queuing an update-repo job (server.md §3.5 step 5).
public func updateQueuedLine(isNew: Bool, jobID: Int32, delay: Int) -> String {
    guard isNew else { return "Piggy-backed on existing update job \(jobID)" }
    return delay > 0
        ? "Queued repository update job \(jobID) in \(delay) secs" : "Queued repository update job \(jobID)"
}
