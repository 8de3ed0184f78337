import FlatManagerCore
import Logging
import SQLKit

extension Store {
    /// `repo_state_reason` written when a commit (or purge) was cut off by a restart.
    public static let restartedDuringJobReason = "Server was restarted during job"
    /// `published_state_reason` written when a publish was cut off by a restart.
    public static let restartedDuringPublishReason = "Server was restarted during publish"
    /// How long a purge may hold its build before recovery takes it for abandoned even if its owner looks alive
    /// (an owner on another host is always taken for alive): a purge removes one directory.
    public static let purgeStaleSeconds: Int64 = 3600

    /// Cleans up after crashed or stalled workers (server.md §3.6, with our resume rule), touching only what nobody
    /// works on any more: Started jobs without a lease, with an expired lease, or with a lease of another owner that
    /// `isOwnerAlive` reports dead; Purging builds whose purge owner is dead.
    ///
    /// Each such commit, publish, check, republish or update-repo job that was resumed fewer than `maxResumes`
    /// times goes back to New (its lease dropped, its resume counted, a line in its log and in the server log):
    /// the jobs make every step idempotent, so the next run completes what the interrupted one began. Any other
    /// interrupted job is broken as upstream does (its build Committing → Failed, Publishing → published Failed,
    /// Validating untouched), with a log line; an update-repo job broken so is queued afresh (without delay).
    /// Purging builds → Failed: those whose purge owner is dead or whose purge is stale, and with
    /// `resetPurgingBuilds` (start-up) also those without a purge record (a purge started by an older server).
    /// Returns the repos whose queues got work (resumed or re-queued jobs).
    public func recoverInterruptedJobs(
        owner: String, isOwnerAlive: @Sendable (String) -> Bool, resetPurgingBuilds: Bool = true,
        maxResumes: Int = 3
    ) async throws -> [String] {
        let now = Timestamp.now()
        let outcome = try await transaction { db in
            let interrupted = try await startedJobs(in: db).filter { candidate in
                guard let lease = candidate.lease, lease.expires >= now else { return true }
                return lease.owner != owner && !isOwnerAlive(lease.owner)
            }
            let purges = try await abandonedPurges(
                owner: owner, isOwnerAlive: isOwnerAlive, includeUnowned: resetPurgingBuilds, now: now, in: db)
            for buildID in purges {
                try await failPurgingBuild(buildID, in: db)
            }
            var resumed: [(job: Job, count: Int)] = []
            var broken: [(job: Job, count: Int)] = []
            for candidate in interrupted {
                let count = try await resumeCount(jobID: candidate.job.id, in: db)
                if Self.isResumable(candidate.job.kind), count < maxResumes {
                    try await resumeJob(candidate.job, count: count + 1, maxResumes: maxResumes, in: db)
                    resumed.append((candidate.job, count + 1))
                } else {
                    try await breakJob(candidate.job, in: db)
                    try await appendLine(
                        "Job broken: interrupted (server restarted, stopped or lease lost) after \(count) resumes",
                        jobID: candidate.job.id, in: db)
                    broken.append((candidate.job, count))
                }
            }
            return (resumed: resumed, broken: broken, purges: purges)
        }
        for (job, count) in outcome.resumed {
            logger.warning(
                "#\(job.id): resuming interrupted \(job.kind.displayName) job (resume \(count) of \(maxResumes))")
        }
        for (job, count) in outcome.broken {
            logger.warning("#\(job.id): broke interrupted \(job.kind.displayName) job after \(count) resumes")
        }
        for buildID in outcome.purges {
            logger.warning("Build \(buildID): its purge was interrupted; the build is now Failed")
        }
        for (job, _) in outcome.resumed + outcome.broken { jobSignals.signal(job.id) }
        var repos: [String] = []
        for (job, _) in outcome.resumed {
            guard let repo = job.repo, !repos.contains(repo) else { continue }
            repos.append(repo)
        }
        for (job, _) in outcome.broken where job.kind == .updateRepo {
            guard let repo = job.repo ?? Self.repoOfUpdateJob(job) else { continue }
            _ = try await queueUpdateRepo(repo: repo, startingJob: nil, delaySeconds: 0)
            if !repos.contains(repo) { repos.append(repo) }
        }
        return repos
    }

    /// The kinds whose handlers can run again after an interruption and reach the uninterrupted result.
    static func isResumable(_ kind: JobKind) -> Bool {
        switch kind {
        case .commit, .publish, .check, .republish, .updateRepo, .rollback: true
        case .prune: false
        }
    }

    /// A Started job with its lease, if it has one.
    private struct StartedJob: Sendable {
        var job: Job
        var lease: (owner: String, expires: Timestamp)?
    }

    private func startedJobs(in db: any SQLDatabase) async throws -> [StartedJob] {
        let columns = Self.jobColumns.split(separator: ", ").map { "j.\($0)" }.joined(separator: ", ")
        let rows = try await db.raw(
            """
            SELECT \(unsafeRaw: columns), l.owner AS lease_owner, l.expires_at AS lease_expires
            FROM jobs j LEFT JOIN job_leases l ON l.job_id = j.id WHERE j.status = \(bind: JobStatus.started.rawValue)
            ORDER BY j.id\(unsafeRaw: kind == .postgres ? " FOR NO KEY UPDATE OF j" : "")
            """
        ).all()
        return try rows.map { row in
            let owner = try row.optionalString("lease_owner")
            let expires = try time(row, "lease_expires")
            let lease = owner.flatMap { owner in expires.map { (owner: owner, expires: $0) } }
            return StartedJob(job: try decodeJob(row), lease: lease)
        }
    }

    /// Purging builds nobody purges any more: the owner is dead (not us), the purge is older than
    /// `purgeStaleSeconds`, or (with `includeUnowned`) there is no purge record.
    private func abandonedPurges(
        owner: String, isOwnerAlive: @Sendable (String) -> Bool, includeUnowned: Bool, now: Timestamp,
        in db: any SQLDatabase
    ) async throws -> [Int32] {
        let rows = try await db.raw(
            """
            SELECT b.id, p.owner, p.started_at FROM builds b LEFT JOIN build_purges p ON p.build_id = b.id
            WHERE b.repo_state = \(bind: RepoState.purging.rawValue)
            ORDER BY b.id\(unsafeRaw: kind == .postgres ? " FOR UPDATE OF b" : "")
            """
        ).all()
        var abandoned: [Int32] = []
        for row in rows {
            let id = try row.int32("id")
            guard let purger = try row.optionalString("owner"), let started = try time(row, "started_at") else {
                if includeUnowned { abandoned.append(id) }
                continue
            }
            let stale = started.adding(seconds: Self.purgeStaleSeconds) < now
            let ours = purger == owner || purger == Self.purgeOwner
            if stale || (!ours && !isOwnerAlive(purger)) { abandoned.append(id) }
        }
        return abandoned
    }

    private func failPurgingBuild(_ buildID: Int32, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE builds SET repo_state = \(bind: RepoState.failed.rawValue),
            repo_state_reason = \(bind: Self.restartedDuringJobReason)
            WHERE id = \(bind: buildID) AND repo_state = \(bind: RepoState.purging.rawValue)
            """
        ).run()
        try await db.raw("DELETE FROM build_purges WHERE build_id = \(bind: buildID)").run()
    }

    /// Puts an interrupted job back to New, without its lease, counting the resume and saying so in its log.
    private func resumeJob(_ job: Job, count: Int, maxResumes: Int, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE jobs SET status = \(bind: JobStatus.new.rawValue) WHERE id = \(bind: job.id)").run()
        try await db.raw("DELETE FROM job_leases WHERE job_id = \(bind: job.id)").run()
        try await db.raw(
            """
            INSERT INTO job_resumes (job_id, resumes) VALUES (\(bind: job.id), \(bind: count))
            ON CONFLICT (job_id) DO UPDATE SET resumes = excluded.resumes
            """
        ).run()
        try await appendLine(
            "Resuming job after an interruption (server restarted, stopped or lease lost; resume \(count) of "
                + "\(maxResumes))", jobID: job.id, in: db)
    }

    private func appendLine(_ line: String, jobID: Int32, in db: any SQLDatabase) async throws {
        try await db.raw("UPDATE jobs SET log = log || \(bind: line + "\n") WHERE id = \(bind: jobID)").run()
    }

    /// How often the job was resumed so far.
    func resumeCount(jobID: Int32, in db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw("SELECT resumes FROM job_resumes WHERE job_id = \(bind: jobID)").first()
        return try row.map { try $0.decode(column: "resumes", as: Int.self) } ?? 0
    }

    /// Breaks one interrupted job and fails the build it was working on, if it still waits for it.
    private func breakJob(_ job: Job, in db: any SQLDatabase) async throws {
        switch job.kind {
        case .commit:
            try await db.raw(
                """
                UPDATE builds SET repo_state = \(bind: RepoState.failed.rawValue),
                repo_state_reason = \(bind: Self.restartedDuringJobReason)
                WHERE commit_job_id = \(bind: job.id) AND repo_state = \(bind: RepoState.committing.rawValue)
                """
            ).run()
        case .publish:
            try await db.raw(
                """
                UPDATE builds SET published_state = \(bind: PublishedState.failed.rawValue),
                published_state_reason = \(bind: Self.restartedDuringPublishReason)
                WHERE publish_job_id = \(bind: job.id) AND published_state = \(bind: PublishedState.publishing.rawValue)
                """
            ).run()
        case .updateRepo, .republish, .check, .prune, .rollback:
            break
        }
        try await db.raw("UPDATE jobs SET status = \(bind: JobStatus.broken.rawValue) WHERE id = \(bind: job.id)").run()
        try await recordJobTime(.ended, jobID: job.id, at: .now(), in: db)
        try await db.raw("DELETE FROM job_leases WHERE job_id = \(bind: job.id)").run()
    }

    private static func repoOfUpdateJob(_ job: Job) -> String? {
        guard case .updateRepo(let repo) = JobContents(kind: .updateRepo, json: job.contents) else { return nil }
        return repo
    }
}
