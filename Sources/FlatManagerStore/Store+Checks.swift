import FlatManagerCore
import SQLKit

extension Store {
    private static let checkColumns = "check_name, build_id, job_id, status, status_reason, results"

    /// The checks of a build, by name.
    public func checks(buildID: Int32) async throws -> [Check] {
        try await withDatabase { db in try await checks(buildID: buildID, in: db) }
    }

    /// The check run by this job, if any.
    public func check(jobID: Int32) async throws -> Check? {
        try await withDatabase { db in try await check(jobID: jobID, in: db, lock: false) }
    }

    /// Stores a check's new status (and `results` when given), then re-evaluates its build (server.md §4.4), in
    /// one transaction. With `onlyIfPendingUnlessFailed` (the check job) the status is written only when it is
    /// Failed or the row is still Pending, so a status the hook set itself through the review API survives.
    /// Nil when no check has this job id.
    public func setCheckStatus(jobID: Int32, status: CheckStatus, results: String?, onlyIfPendingUnlessFailed: Bool)
        async throws -> Check?
    {
        try await transaction { db in
            guard var check = try await check(jobID: jobID, in: db, lock: true) else { return nil }
            let isFailure = if case .failed = status { true } else { false }
            if !onlyIfPendingUnlessFailed || isFailure || check.status == .pending {
                try await db.raw(
                    """
                    UPDATE checks SET status = \(bind: status.code), status_reason = \(bind: status.reason)
                    WHERE job_id = \(bind: jobID)
                    """
                ).run()
                check.status = status
            }
            if let results {
                try await db.raw("UPDATE checks SET results = \(bind: results) WHERE job_id = \(bind: jobID)").run()
                check.results = results
            }
            try await evaluateChecks(buildID: check.buildID, in: db)
            return check
        }
    }

    /// Inserts one Pending check, with its check job on the global queue, per name.
    func insertChecks(_ names: [String], buildID: Int32, in db: any SQLDatabase) async throws {
        for name in names {
            let job = try await insertJob(
                kind: .check, contents: .check(build: buildID, name: name), repo: nil, startAfter: nil, in: db)
            try await db.raw(
                """
                INSERT INTO checks (check_name, build_id, job_id, status)
                VALUES (\(bind: name), \(bind: buildID), \(bind: job.id), \(bind: CheckStatus.pending.code))
                """
            ).run()
        }
    }

    /// Once every check of the build is finished: Ready, or Failed("<k> out of <n> checks failed (<names>)").
    /// Only a Validating build, or a Ready one not yet being published, is touched (the spec allows restricting
    /// upstream, which also rewrote Purged builds when a late review arrived). Ready must stay open: a check that
    /// reviewed itself as Passed makes the build Ready, and its non-zero exit right after must still fail it.
    private func evaluateChecks(buildID: Int32, in db: any SQLDatabase) async throws {
        let checks = try await checks(buildID: buildID, in: db)
        guard checks.allSatisfy(\.status.isFinished) else { return }
        guard var build = try await build(id: buildID, in: db, lock: true),
            build.repoState == .validating || (build.repoState == .ready && build.publishedState == .unpublished)
        else {
            return
        }
        let failed = checks.filter { if case .failed = $0.status { true } else { false } }
        if failed.isEmpty {
            build.repoState = .ready
            build.repoStateReason = nil
        } else {
            let names = failed.map(\.checkName).joined(separator: ", ")
            build.repoState = .failed
            build.repoStateReason = "\(failed.count) out of \(checks.count) checks failed (\(names))"
        }
        try await updateStates(of: build, in: db)
    }

    private func checks(buildID: Int32, in db: any SQLDatabase) async throws -> [Check] {
        let rows = try await db.raw(
            "SELECT \(unsafeRaw: Self.checkColumns) FROM checks WHERE build_id = \(bind: buildID) ORDER BY check_name"
        ).all()
        return try rows.map(decodeCheck)
    }

    private func check(jobID: Int32, in db: any SQLDatabase, lock: Bool) async throws -> Check? {
        let row = try await db.raw(
            """
            SELECT \(unsafeRaw: Self.checkColumns) FROM checks WHERE job_id = \(bind: jobID)\(unsafeRaw: lock ? forUpdate : "")
            """
        ).first()
        return try row.map(decodeCheck)
    }

    private func decodeCheck(_ row: any SQLRow) throws -> Check {
        Check(
            checkName: try row.string("check_name"), buildID: try row.int32("build_id"),
            jobID: try row.int32("job_id"),
            status: CheckStatus(code: try row.int16("status"), reason: try row.optionalString("status_reason")),
            results: try row.optionalString("results"))
    }
}
