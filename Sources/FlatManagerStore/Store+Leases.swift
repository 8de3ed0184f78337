import FlatManagerCore
import PostgresKit
import PostgresNIO
import SQLKit

/// One claim of a job: who holds it and its fencing token.
///
/// Every claim draws a new `generation` from one counter that only grows (a sequence on PostgreSQL, a one-row
/// table on SQLite), so a later claim of the same job, by any process, always carries a larger token. A worker
/// proves it still holds its claim by presenting the whole value: same owner, same generation, not expired.
public struct JobLease: Sendable, Hashable, CustomStringConvertible {
    public let jobID: Int32
    public let owner: String
    public let generation: Int64

    public init(jobID: Int32, owner: String, generation: Int64) {
        self.jobID = jobID
        self.owner = owner
        self.generation = generation
    }

    public var description: String { "job \(jobID) lease \(generation) of \(owner)" }
}

/// A job claimed by `claimNextJobLease`: the row and the lease that fences its writes.
public struct ClaimedJob: Sendable {
    public let job: Job
    public let lease: JobLease
}

/// Fencing (issue 14 point 2). A job's writes are conditional on its lease: `appendJobLog(id:text:lease:)` and
/// `finishJob(id:status:results:lease:)` check it in the same statement or transaction, and every store
/// transaction run while `Store.jobFence` is set (the dispatcher sets it around a job's body) first checks the
/// lease inside the transaction, locking the lease row (`FOR SHARE` on PostgreSQL; SQLite transactions are
/// serialised anyway). Recovery deletes the lease row when it takes a job over, so it waits for a fenced write
/// in flight, and every fenced write after the takeover fails with `StoreError.leaseLost`.
extension Store {
    /// The lease whose loss makes every store transaction of the current task fail (`StoreError.leaseLost`).
    @TaskLocal public static var jobFence: JobLease? = nil

    /// Whether `lease` is still this job's current, unexpired lease.
    public func holdsLease(_ lease: JobLease) async throws -> Bool {
        try await withDatabase { db in try await leaseIsCurrent(lease, lock: false, in: db) }
    }

    /// Appends `text` to the job's log only while `lease` holds; returns whether it was written.
    @discardableResult
    public func appendJobLog(id: Int32, text: String, lease: JobLease) async throws -> Bool {
        let now = Timestamp.now()
        let written = try await withDatabase { db in
            let row = try await db.raw(
                """
                UPDATE jobs SET log = log || \(bind: text) WHERE id = \(bind: id) AND EXISTS (\(leaseCondition(lease, now: now)))
                RETURNING id
                """
            ).first()
            return row != nil
        }
        if written { jobSignals.signal(id) }
        return written
    }

    /// Ends a job (Ended or Broken) with its result JSON and gives up its lease, only while `lease` holds; returns
    /// whether it was written. The webhook deliveries its end causes are written in the same transaction.
    @discardableResult
    public func finishJob(
        id: Int32, status: JobStatus, results: String, lease: JobLease, webhooks: [WebhookDelivery.Draft] = []
    ) async throws -> Bool {
        let written = try await Store.$jobFence.withValue(nil) {
            try await transaction { db in
                guard try await leaseIsCurrent(lease, lock: true, in: db) else { return false }
                try await db.raw(
                    """
                    UPDATE jobs SET status = \(bind: status.rawValue), results = \(bind: results) WHERE id = \(bind: id)
                    """
                ).run()
                try await recordJobTime(.ended, jobID: id, at: .now(), in: db)
                try await db.raw("DELETE FROM job_leases WHERE job_id = \(bind: id)").run()
                try await insertWebhookDeliveries(webhooks, now: .now(), in: db)
                return true
            }
        }
        if written { jobSignals.signal(id) }
        return written
    }

    /// Claims like `claimNextJob` and returns the lease that fences the job's writes.
    public func claimNextJobLease(queue: QueueSelector, owner: String, leaseSeconds: Int, allowConcurrent: Bool)
        async throws -> ClaimedJob?
    {
        let now = Timestamp.now()
        let claimed: ClaimedJob? = try await transaction { db in
            guard let job = try await startNextJob(queue: queue, now: now, allowConcurrent: allowConcurrent, in: db)
            else { return nil }
            let generation = try await nextLeaseGeneration(in: db)
            try await db.raw(
                """
                INSERT INTO job_leases (job_id, owner, expires_at, generation)
                VALUES (\(bind: job.id), \(bind: owner), \(bind: bind(now.adding(seconds: Int64(leaseSeconds)))),
                \(bind: generation))
                ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
                generation = excluded.generation
                """
            ).run()
            return ClaimedJob(job: job, lease: JobLease(jobID: job.id, owner: owner, generation: generation))
        }
        if let claimed { jobSignals.signal(claimed.job.id) }
        return claimed
    }

    /// Inside a transaction opened while `jobFence` is set: throws `leaseLost` unless the lease still holds.
    func checkFence(in db: any SQLDatabase) async throws {
        guard let fence = Store.jobFence else { return }
        guard try await leaseIsCurrent(fence, lock: true, in: db) else { throw StoreError.leaseLost(fence.description) }
    }

    private func leaseIsCurrent(_ lease: JobLease, lock: Bool, in db: any SQLDatabase) async throws -> Bool {
        let row = try await db.raw(
            "\(leaseCondition(lease, now: Timestamp.now()))\(unsafeRaw: lock && kind == .postgres ? " FOR SHARE" : "")"
        ).first()
        return row != nil
    }

    private func leaseCondition(_ lease: JobLease, now: Timestamp) -> SQLQueryString {
        """
        SELECT 1 FROM job_leases WHERE job_id = \(bind: lease.jobID) AND owner = \(bind: lease.owner)
        AND generation = \(bind: lease.generation) AND expires_at >= \(bind: bind(now))
        """
    }

    /// The next fencing token: strictly larger than every one handed out before, across processes.
    private func nextLeaseGeneration(in db: any SQLDatabase) async throws -> Int64 {
        let sql: SQLQueryString =
            kind == .postgres
            ? "SELECT nextval('job_lease_generation') AS generation"
            : "UPDATE job_lease_generation SET value = value + 1 WHERE id = 1 RETURNING value AS generation"
        let row = try await db.raw(sql).first()
        return try unwrapRow(row, "lease generation").decode(column: "generation", as: Int64.self)
    }
}

extension Store {
    /// Runs `body` while holding a PostgreSQL session advisory lock on `name`, taken on one connection kept out of
    /// the pool for the whole call: the lock dies with the session, so a process that dies (or whose connection
    /// drops) releases it. Writers of one main repository take it for the duration of a publish or update-repo, so
    /// a stalled process that resumes can never import at the same time as the job's new owner. On SQLite (one
    /// process) it only runs `body`; the caller adds a file lock.
    public func withSessionLock<T: Sendable>(_ name: String, _ body: () async throws -> T) async throws -> T {
        guard case .postgres(let client, _) = backend else { return try await body() }
        let key = "flat-manager-repo-lock:" + name
        return try await client.withConnection { connection in
            let db = connection.sql()
            try await db.raw("SELECT pg_advisory_lock(hashtext(\(bind: key)))").run()
            do {
                let result = try await body()
                try await db.raw("SELECT pg_advisory_unlock(hashtext(\(bind: key)))").run()
                return result
            } catch {
                try? await db.raw("SELECT pg_advisory_unlock(hashtext(\(bind: key)))").run()
                throw error
            }
        }
    }
}
