import FlatManagerCore
import SQLKit

extension Store {
    /// The `builds` columns every query reads, in schema order; `token_branches` (dropped by upstream 0.5.3) comes
    /// from our `build_token_branches`.
    static let buildColumns = """
        id, created_at, repo_state, repo_state_reason, published_state, published_state_reason, commit_job_id, \
        publish_job_id, repo, extra_ids, app_id, public_download, build_log_url, token_name, token_type, \
        (SELECT branches FROM build_token_branches WHERE build_id = builds.id) AS token_branches
        """

    /// Inserts a new build (Uploading, Unpublished) with the creating token's name, type and branches.
    public func createBuild(
        repo: String, appID: String?, publicDownload: Bool, buildLogURL: String?, tokenName: String?,
        tokenType: String?, tokenBranches: [String]?
    ) async throws -> Build {
        try await transaction { db in
            let row = try await db.raw(
                """
                INSERT INTO builds (created_at, repo, extra_ids, app_id, public_download, build_log_url, token_name,
                token_type)
                VALUES (\(bind: bind(Timestamp.now())), \(bind: repo), \(bind: bind([String]())), \(bind: appID),
                \(bind: publicDownload), \(bind: buildLogURL), \(bind: tokenName), \(bind: tokenType))
                RETURNING id
                """
            ).first()
            let id = try unwrapRow(row).decode(column: "id", as: Int32.self)
            if let tokenBranches {
                try await db.raw(
                    """
                    INSERT INTO build_token_branches (build_id, branches)
                    VALUES (\(bind: id), \(bind: bind(tokenBranches)))
                    """
                ).run()
            }
            return try unwrapRow(try await build(id: id, in: db, lock: false), "build")
        }
    }

    /// The build with this id, if any.
    public func build(id: Int32) async throws -> Build? {
        try await withDatabase { db in try await build(id: id, in: db, lock: false) }
    }

    /// Builds that are not Purged: those with exactly `appID`, or when nil those without an app id
    /// (api.md §4.7, Q6). In id order.
    public func builds(appID: String?) async throws -> [Build] {
        try await withDatabase { db in
            let filter: SQLQueryString
            if let appID {
                filter = "app_id = \(bind: appID)"
            } else {
                filter = "app_id IS NULL"
            }
            let rows = try await db.raw(
                """
                SELECT \(unsafeRaw: Self.buildColumns) FROM builds
                WHERE repo_state <> \(bind: RepoState.purged.rawValue) AND \(filter) ORDER BY id
                """
            ).all()
            return try rows.map(decodeBuild)
        }
    }

    /// Appends the ids not yet present to `extra_ids`, keeping their order. Nil when the build does not exist.
    public func addExtraIDs(_ ids: [String], buildID: Int32) async throws -> Build? {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { return nil }
            for id in ids where !build.extraIDs.contains(id) {
                build.extraIDs.append(id)
            }
            try await db.raw(
                "UPDATE builds SET extra_ids = \(bind: bind(build.extraIDs)) WHERE id = \(bind: buildID)"
            ).run()
            return build
        }
    }

    /// Marks the build Failed with `reason` whatever its state (used when a job fails before its work starts).
    public func setBuildFailed(id: Int32, reason: String) async throws {
        try await withDatabase { db in
            try await db.raw(
                """
                UPDATE builds SET repo_state = \(bind: RepoState.failed.rawValue), repo_state_reason = \(bind: reason)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    /// Reads one build inside a transaction, locking its row on PostgreSQL when `lock` is set.
    func build(id: Int32, in db: any SQLDatabase, lock: Bool) async throws -> Build? {
        let row = try await db.raw(
            """
            SELECT \(unsafeRaw: Self.buildColumns) FROM builds WHERE id = \(bind: id)\(unsafeRaw: lock ? forUpdate : "")
            """
        ).first()
        return try row.map(decodeBuild)
    }

    /// Writes the two state pairs of a build.
    func updateStates(of build: Build, in db: any SQLDatabase) async throws {
        try await db.raw(
            """
            UPDATE builds SET repo_state = \(bind: build.repoState.rawValue),
            repo_state_reason = \(bind: build.repoStateReason),
            published_state = \(bind: build.publishedState.rawValue),
            published_state_reason = \(bind: build.publishedStateReason),
            commit_job_id = \(bind: build.commitJobID), publish_job_id = \(bind: build.publishJobID)
            WHERE id = \(bind: build.id)
            """
        ).run()
    }

    /// Unknown stored state values read as Failed("Unknown state") (server.md §2.3).
    func decodeBuild(_ row: any SQLRow) throws -> Build {
        let repoState = RepoState(rawValue: try row.int16("repo_state"))
        let publishedState = PublishedState(rawValue: try row.int16("published_state"))
        return Build(
            id: try row.int32("id"),
            created: try unwrapRow(time(row, "created_at")),
            repoState: repoState ?? .failed,
            repoStateReason: repoState == nil ? "Unknown state" : try row.optionalString("repo_state_reason"),
            publishedState: publishedState ?? .failed,
            publishedStateReason: publishedState == nil
                ? "Unknown state" : try row.optionalString("published_state_reason"),
            commitJobID: try row.optionalInt32("commit_job_id"),
            publishJobID: try row.optionalInt32("publish_job_id"),
            repo: try row.string("repo"),
            extraIDs: try strings(row, "extra_ids") ?? [],
            appID: try row.optionalString("app_id"),
            publicDownload: try row.bool("public_download"),
            buildLogURL: try row.optionalString("build_log_url"),
            tokenName: try row.optionalString("token_name"),
            tokenType: try row.optionalString("token_type"),
            tokenBranches: try strings(row, "token_branches"))
    }
}

/// The value, or a database error when a statement that must return a row returned none.
func unwrapRow<T>(_ value: T?, _ what: String = "row") throws -> T {
    guard let value else { throw StoreError.database("Expected a \(what), got none") }
    return value
}
