import FlatManagerCore
import SQLKit

extension Store {
    private static let refColumns = #"id, build_id, ref_name, "commit", build_log_url"#

    /// Adds a ref to a build with 0.5's semantics: the same ref with the same commit returns the existing row
    /// unchanged; a different commit replaces `commit` and `build_log_url`.
    public func upsertBuildRef(buildID: Int32, refName: String, commit: String, buildLogURL: String?) async throws
        -> BuildRef
    {
        try await withDatabase { db in
            let row = try await db.raw(
                """
                INSERT INTO build_refs (build_id, ref_name, "commit", build_log_url)
                VALUES (\(bind: buildID), \(bind: refName), \(bind: commit), \(bind: buildLogURL))
                ON CONFLICT (ref_name, build_id) DO UPDATE SET
                build_log_url = CASE WHEN build_refs."commit" = excluded."commit" THEN build_refs.build_log_url
                ELSE excluded.build_log_url END,
                "commit" = excluded."commit"
                RETURNING \(unsafeRaw: Self.refColumns)
                """
            ).first()
            return try decodeBuildRef(unwrapRow(row))
        }
    }

    /// All refs of a build in id (insertion) order.
    public func buildRefs(buildID: Int32) async throws -> [BuildRef] {
        try await withDatabase { db in
            let rows = try await db.raw(
                "SELECT \(unsafeRaw: Self.refColumns) FROM build_refs WHERE build_id = \(bind: buildID) ORDER BY id"
            ).all()
            return try rows.map(decodeBuildRef)
        }
    }

    /// One ref, only if it belongs to that build.
    public func buildRef(id: Int32, buildID: Int32) async throws -> BuildRef? {
        try await withDatabase { db in
            let row = try await db.raw(
                """
                SELECT \(unsafeRaw: Self.refColumns) FROM build_refs WHERE id = \(bind: id) AND build_id = \(bind: buildID)
                """
            ).first()
            return try row.map(decodeBuildRef)
        }
    }

    private func decodeBuildRef(_ row: any SQLRow) throws -> BuildRef {
        BuildRef(
            id: try row.int32("id"), buildID: try row.int32("build_id"), refName: try row.string("ref_name"),
            commit: try row.string("commit"), buildLogURL: try row.optionalString("build_log_url"))
    }
}
