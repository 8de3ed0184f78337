import FlatManagerCore
import SQLKit

extension Store {
    /// The `jobs` columns every query reads.
    static let jobColumns = "id, kind, status, contents, results, log, start_after, repo"

    /// Queues a job (status New). `repo` selects the queue (nil: the global one).
    public func createJob(kind: JobKind, contents: JobContents, repo: String?, startAfter: Timestamp?) async throws
        -> Job
    {
        try await withDatabase { db in
            try await insertJob(kind: kind, contents: contents, repo: repo, startAfter: startAfter, in: db)
        }
    }

    /// The job with this id, if any.
    public func job(id: Int32) async throws -> Job? {
        try await withDatabase { db in try await job(id: id, in: db, lock: false) }
    }

    /// The job's status and the length of its log in bytes, without reading the log (a long-polling job GET asks
    /// this every few milliseconds); nil when there is no such job.
    public func jobProgress(id: Int32) async throws -> (status: JobStatus, logBytes: Int)? {
        let length = kind == .postgres ? "octet_length(log)" : "length(CAST(log AS BLOB))"
        return try await withDatabase { db in
            guard
                let row = try await db.raw(
                    "SELECT status, \(unsafeRaw: length) AS log_bytes FROM jobs WHERE id = \(bind: id)"
                ).first()
            else { return nil }
            guard
                let status = JobStatus(
                    rawValue: Int16(truncatingIfNeeded: try row.decode(column: "status", as: Int.self)))
            else { return nil }
            return (status, try row.decode(column: "log_bytes", as: Int.self))
        }
    }

    /// Jobs that are New or Started, by id (the status page).
    public func activeJobs() async throws -> [Job] {
        try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT \(unsafeRaw: Self.jobColumns) FROM jobs WHERE status <= \(bind: JobStatus.started.rawValue)
                ORDER BY id
                """
            ).all()
            return try rows.map(decodeJob)
        }
    }

    /// Appends `text` to the job's log in its own statement, so clients following the log see it at once.
    public func appendJobLog(id: Int32, text: String) async throws {
        try await withDatabase { db in
            try await db.raw("UPDATE jobs SET log = log || \(bind: text) WHERE id = \(bind: id)").run()
        }
        jobSignals.signal(id)
    }

    /// Ends a job (Ended or Broken) with its result JSON and gives up its lease; the webhook deliveries its end
    /// causes are written in the same transaction.
    public func finishJob(
        id: Int32, status: JobStatus, results: String, webhooks: [WebhookDelivery.Draft] = []
    ) async throws {
        try await transaction { db in
            try await db.raw(
                "UPDATE jobs SET status = \(bind: status.rawValue), results = \(bind: results) WHERE id = \(bind: id)"
            ).run()
            try await recordJobTime(.ended, jobID: id, at: .now(), in: db)
            try await db.raw("DELETE FROM job_leases WHERE job_id = \(bind: id)").run()
            try await insertWebhookDeliveries(webhooks, now: .now(), in: db)
        }
        jobSignals.signal(id)
    }

    /// The kinds of the jobs `jobID` depends on (waits for), each once.
    public func dependencyKinds(of jobID: Int32) async throws -> Set<JobKind> {
        try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT DISTINCT jobs.kind FROM job_dependencies JOIN jobs ON jobs.id = job_dependencies.depends_on
                WHERE job_dependencies.job_id = \(bind: jobID)
                """
            ).all()
            return Set(
                try rows.compactMap {
                    JobKind(rawValue: Int16(truncatingIfNeeded: try $0.decode(column: "kind", as: Int.self)))
                })
        }
    }

    /// Inserts a New job inside the caller's transaction.
    func insertJob(kind: JobKind, contents: JobContents, repo: String?, startAfter: Timestamp?, in db: any SQLDatabase)
        async throws -> Job
    {
        let row = try await db.raw(
            """
            INSERT INTO jobs (kind, status, contents, log, start_after, repo)
            VALUES (\(bind: kind.rawValue), \(bind: JobStatus.new.rawValue), \(bind: contents.json), '',
            \(bind: bind(startAfter)), \(bind: repo))
            RETURNING \(unsafeRaw: Self.jobColumns)
            """
        ).first()
        let job = try decodeJob(unwrapRow(row))
        try await recordJobTime(.queued, jobID: job.id, at: .now(), in: db)
        return job
    }

    /// Reads one job inside a transaction, locking its row on PostgreSQL when `lock` is set.
    func job(id: Int32, in db: any SQLDatabase, lock: Bool) async throws -> Job? {
        let row = try await db.raw(
            "SELECT \(unsafeRaw: Self.jobColumns) FROM jobs WHERE id = \(bind: id)\(unsafeRaw: lock ? forUpdate : "")"
        ).first()
        return try row.map(decodeJob)
    }

    /// Records that `jobID` may not start before `dependsOn` has finished (Ended or Broken).
    func addDependency(jobID: Int32, dependsOn: Int32, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO job_dependencies (job_id, depends_on) VALUES (\(bind: jobID), \(bind: dependsOn))
            ON CONFLICT (job_id, depends_on) DO NOTHING
            """
        ).run()
    }

    /// A `jobs` row as a `Job`.
    func decodeJob(_ row: any SQLRow) throws -> Job {
        Job(
            id: try row.int32("id"),
            // Unknown kinds cannot be stored (chk_job_kind); read like Core's decoder does.
            kind: JobKind(rawValue: try row.int16("kind")) ?? .commit,
            status: JobStatus(rawValue: try row.int16("status")) ?? .broken,
            contents: try row.string("contents"),
            results: try row.optionalString("results"),
            log: try row.string("log"),
            startAfter: try time(row, "start_after"),
            repo: try row.optionalString("repo"))
    }
}
