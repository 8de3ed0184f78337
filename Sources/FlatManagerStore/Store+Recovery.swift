import FlatManagerCore
import SQLKit

extension Store {
    /// `repo_state_reason` written when a commit (or purge) was cut off by a restart.
    public static let restartedDuringJobReason = "Server was restarted during job"
    /// `published_state_reason` written when a publish was cut off by a restart.
    public static let restartedDuringPublishReason = "Server was restarted during publish"

    /// Cleans up after crashed workers (server.md §3.6), limited to Started jobs that nobody runs any more: no
    /// lease, an expired lease, or a lease of another owner that `isOwnerAlive` reports dead.
    ///
    /// In one transaction: builds whose interrupted commit job left them Committing → Failed; builds whose
    /// interrupted publish job left them Publishing → published Failed; with `resetPurgingBuilds` (start-up)
    /// every Purging build → Failed (a purge is a request, not a job, so nothing else can tell it was cut off);
    /// the jobs → Broken. Validating builds are untouched. Then a fresh update-repo job is queued (without delay)
    /// for each repo whose update-repo job was broken; those repos are returned.
    public func recoverInterruptedJobs(
        owner: String, isOwnerAlive: @Sendable (String) -> Bool, resetPurgingBuilds: Bool = true
    ) async throws -> [String] {
        let now = Timestamp.now()
        let broken = try await transaction { db in
            let interrupted = try await startedJobs(in: db).filter { candidate in
                guard let lease = candidate.lease, lease.expires >= now else { return true }
                return lease.owner != owner && !isOwnerAlive(lease.owner)
            }
            if resetPurgingBuilds {
                try await failPurgingBuilds(in: db)
            }
            for candidate in interrupted {
                try await breakJob(candidate.job, in: db)
            }
            return interrupted.map(\.job)
        }
        var repos: [String] = []
        for job in broken where job.kind == .updateRepo {
            guard let repo = job.repo ?? Self.repoOfUpdateJob(job), !repos.contains(repo) else { continue }
            repos.append(repo)
            _ = try await queueUpdateRepo(repo: repo, startingJob: nil, delaySeconds: 0)
        }
        return repos
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

    private func failPurgingBuilds(in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE builds SET repo_state = \(bind: RepoState.failed.rawValue),
            repo_state_reason = \(bind: Self.restartedDuringJobReason)
            WHERE repo_state = \(bind: RepoState.purging.rawValue)
            """
        ).run()
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
        case .updateRepo, .republish, .check, .prune:
            break
        }
        try await db.raw("UPDATE jobs SET status = \(bind: JobStatus.broken.rawValue) WHERE id = \(bind: job.id)").run()
        try await db.raw("DELETE FROM job_leases WHERE job_id = \(bind: job.id)").run()
    }

    private static func repoOfUpdateJob(_ job: Job) -> String? {
        guard case .updateRepo(let repo) = JobContents(kind: .updateRepo, json: job.contents) else { return nil }
        return repo
    }
}
