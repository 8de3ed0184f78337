import FlatManagerCore
import SQLKit

/// What downgrade protection keeps in our own tables (migration swift-0005): the timestamp of each build ref's
/// uploaded commit (`build_ref_source_timestamps`, seconds since the epoch, recorded by the commit job before the
/// commit is re-stamped), and per repo and ref the one of the build whose publish made the ref current
/// (`ref_source_timestamps`).
extension Store {
    /// Records (or replaces) the uploaded commits' timestamps of a build's refs.
    public func recordSourceTimestamps(_ timestamps: [String: Int64], buildID: Int32) async throws {
        guard !timestamps.isEmpty else { return }
        try await transaction { db in
            for (ref, timestamp) in timestamps.sorted(by: { $0.key < $1.key }) {
                try await db.raw(
                    """
                    INSERT INTO build_ref_source_timestamps (build_id, ref_name, source_timestamp)
                    VALUES (\(bind: buildID), \(bind: ref), \(bind: timestamp))
                    ON CONFLICT (build_id, ref_name) DO UPDATE SET source_timestamp = excluded.source_timestamp
                    """
                ).run()
            }
        }
    }

    /// The uploaded commits' timestamps of a build's refs, by ref; a ref recorded for none is absent.
    public func sourceTimestamps(buildID: Int32) async throws -> [String: Int64] {
        try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT ref_name, source_timestamp FROM build_ref_source_timestamps WHERE build_id = \(bind: buildID)
                """
            ).all()
            return try Self.timestamps(rows)
        }
    }

    /// The uploaded commits' timestamps of the refs current in a repo, by ref (only refs some publish recorded).
    public func currentSourceTimestamps(repo: String) async throws -> [String: Int64] {
        try await withDatabase { db in
            let rows = try await db.raw(
                "SELECT ref_name, source_timestamp FROM ref_source_timestamps WHERE repo = \(bind: repo)"
            ).all()
            return try Self.timestamps(rows)
        }
    }

    /// Records the timestamps of refs a publish of `buildID` made current in `repo`, replacing earlier ones.
    public func recordCurrentSourceTimestamps(_ timestamps: [String: Int64], repo: String, buildID: Int32)
        async throws
    {
        guard !timestamps.isEmpty else { return }
        try await transaction { db in
            for (ref, timestamp) in timestamps.sorted(by: { $0.key < $1.key }) {
                try await db.raw(
                    """
                    INSERT INTO ref_source_timestamps (repo, ref_name, source_timestamp, build_id)
                    VALUES (\(bind: repo), \(bind: ref), \(bind: timestamp), \(bind: buildID))
                    ON CONFLICT (repo, ref_name) DO UPDATE SET
                    source_timestamp = excluded.source_timestamp, build_id = excluded.build_id
                    """
                ).run()
            }
        }
    }

    private static func timestamps(_ rows: [any SQLRow]) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in rows {
            result[try row.string("ref_name")] = try row.decode(column: "source_timestamp", as: Int64.self)
        }
        return result
    }
}
