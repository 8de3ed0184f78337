import FlatManagerCore
import SQLKit

/// The retention schedule (ours, issue #15 part 3): `retention_prunes` records, per repo, when the schedule last
/// queued a prune, so that several server processes sharing the database queue one prune per period between them.
extension Store {
    /// Queues a prune of `repo` when the schedule's last one was queued `intervalSeconds` or more before `now` (or
    /// never), and returns it; nil when it is not due yet, or when a prune of the repo is still New or Started (that
    /// one counts for this period). One transaction, under a transaction advisory lock on PostgreSQL (SQLite's
    /// `BEGIN IMMEDIATE` serialises writers anyway), so two processes never both see the period as due.
    public func queueScheduledPrune(repo: String, intervalSeconds: Int64, now: Timestamp = .now()) async throws
        -> Job?
    {
        try await transaction { db in
            if kind == .postgres {
                try await db.raw(
                    "SELECT pg_advisory_xact_lock(hashtext(\(bind: "flat-manager-retention:" + repo)))"
                ).run()
            }
            let last = try await db.raw("SELECT queued_at FROM retention_prunes WHERE repo = \(bind: repo)").first()
            if let last, let queuedAt = try time(last, "queued_at"), now < queuedAt.adding(seconds: intervalSeconds) {
                return nil
            }
            let pending = try await db.raw(
                """
                SELECT id FROM jobs WHERE kind = \(bind: JobKind.prune.rawValue) AND repo = \(bind: repo)
                AND status <= \(bind: JobStatus.started.rawValue) ORDER BY id DESC LIMIT 1
                """
            ).first()
            let job: Job? =
                pending == nil
                ? try await insertJob(kind: .prune, contents: .prune, repo: repo, startAfter: nil, in: db) : nil
            let jobID = try job?.id ?? pending.map { try $0.int32("id") }
            try await db.raw(
                """
                INSERT INTO retention_prunes (repo, queued_at, job_id) VALUES (\(bind: repo), \(bind: bind(now)),
                \(bind: jobID)) ON CONFLICT (repo) DO UPDATE SET queued_at = excluded.queued_at, job_id = excluded.job_id
                """
            ).run()
            return job
        }
    }

    /// The `results` JSON of the latest successful prune job of each repo, by repo.
    public func latestPruneResults() async throws -> [String: String] {
        try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT repo, results FROM jobs WHERE id IN (SELECT MAX(id) FROM jobs
                WHERE kind = \(bind: JobKind.prune.rawValue) AND status = \(bind: JobStatus.ended.rawValue)
                AND repo IS NOT NULL GROUP BY repo)
                """
            ).all()
            var results: [String: String] = [:]
            for row in rows {
                guard let repo = try row.decode(column: "repo", as: String?.self),
                    let text = try row.decode(column: "results", as: String?.self)
                else { continue }
                results[repo] = text
            }
            return results
        }
    }
}
