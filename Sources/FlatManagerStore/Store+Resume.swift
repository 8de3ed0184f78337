import FlatManagerCore
import Foundation
import SQLKit

/// What resumable jobs, purges and the cleanup sweep keep in our own tables (migration swift-0003).
///
/// A job records each step that must not happen twice as a checkpoint (`job_checkpoints`: job, step, value) before
/// or after the step, so that a run resumed after an interruption can tell what the interrupted one did; recovery
/// counts the resumes (`job_resumes`). A purge records its owner (`build_purges`) so that recovery resets only
/// purges whose process died. The sweep remembers when it first saw a failed or purged build and when it removed
/// its directory (`build_cleanups`).
extension Store {
    /// This process as a purge owner, `host:pid:start` like a lease owner, fixed for the process's life.
    public static let purgeOwner: String = {
        let host = ProcessInfo.processInfo.hostName
        return "\(host):\(ProcessInfo.processInfo.processIdentifier):\(Timestamp.now().microsecondsSinceEpoch / 1000)"
    }()

    /// The job's checkpoints, by step.
    public func checkpoints(jobID: Int32) async throws -> [String: String] {
        try await withDatabase { db in
            let rows = try await db.raw("SELECT step, value FROM job_checkpoints WHERE job_id = \(bind: jobID)").all()
            var result: [String: String] = [:]
            for row in rows { result[try row.string("step")] = try row.string("value") }
            return result
        }
    }

    /// Records (or replaces) the value of one step of a job.
    public func setCheckpoint(jobID: Int32, step: String, value: String) async throws {
        try await withDatabase { db in
            try await db.raw(
                """
                INSERT INTO job_checkpoints (job_id, step, value) VALUES (\(bind: jobID), \(bind: step), \(bind: value))
                ON CONFLICT (job_id, step) DO UPDATE SET value = excluded.value
                """
            ).run()
        }
    }

    /// How often recovery resumed the job so far (0 for a job never interrupted).
    public func resumeCount(jobID: Int32) async throws -> Int {
        try await withDatabase { db in try await resumeCount(jobID: jobID, in: db) }
    }

    /// Records `owner` as the purger of a build, inside the caller's transaction.
    func recordPurge(buildID: Int32, owner: String, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO build_purges (build_id, owner, started_at)
            VALUES (\(bind: buildID), \(bind: owner), \(bind: bind(Timestamp.now())))
            ON CONFLICT (build_id) DO UPDATE SET owner = excluded.owner, started_at = excluded.started_at
            """
        ).run()
    }

    /// Forgets the purger of a build, inside the caller's transaction.
    func forgetPurge(buildID: Int32, in db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM build_purges WHERE build_id = \(bind: buildID)").run()
    }

    /// Builds whose directory the cleanup sweep may remove once the grace period has passed: repo state Failed
    /// or Purged, or publish Failed, with no commit or publish job still New or Started, and not removed yet.
    /// Marks the ones seen for the first time with `now`; returns each with the time it was first seen.
    public func cleanupCandidates(now: Timestamp) async throws -> [(buildID: Int32, seen: Timestamp)] {
        try await transaction { db in
            let active = JobStatus.started.rawValue
            let rows = try await db.raw(
                """
                SELECT b.id, c.seen_at FROM builds b LEFT JOIN build_cleanups c ON c.build_id = b.id
                WHERE (b.repo_state IN (\(bind: RepoState.failed.rawValue), \(bind: RepoState.purged.rawValue))
                    OR b.published_state = \(bind: PublishedState.failed.rawValue))
                AND c.removed_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE (j.id = b.commit_job_id OR j.id = b.publish_job_id)
                    AND j.status <= \(bind: active))
                ORDER BY b.id
                """
            ).all()
            var result: [(buildID: Int32, seen: Timestamp)] = []
            for row in rows {
                let id = try row.int32("id")
                if let seen = try time(row, "seen_at") {
                    result.append((id, seen))
                    continue
                }
                try await db.raw(
                    """
                    INSERT INTO build_cleanups (build_id, seen_at) VALUES (\(bind: id), \(bind: bind(now)))
                    ON CONFLICT (build_id) DO NOTHING
                    """
                ).run()
                result.append((id, now))
            }
            return result
        }
    }

    /// Records that the sweep removed (or found gone) the directory of a build.
    public func markCleanedUp(buildID: Int32, at time: Timestamp) async throws {
        try await withDatabase { db in
            try await db.raw(
                "UPDATE build_cleanups SET removed_at = \(bind: bind(time)) WHERE build_id = \(bind: buildID)"
            ).run()
        }
    }
}
