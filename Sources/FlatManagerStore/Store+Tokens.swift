import FlatManagerCore
import Logging
import SQLKit

/// Token usage tracking and revocation (api.md §9.6).
extension Store {
    /// How stale `last_used` may get before a request writes it again: usage is an operator's hint ("is this
    /// token still in use?"), so per-minute precision is enough and most requests only read.
    public static let tokenUseResolution: Int64 = 60

    /// Records a use of the token with this `jti`: creates its row (expires = the token's `exp`) or refreshes
    /// `last_used`. Returns false, changing nothing, when the token has been revoked.
    ///
    /// No row lock on the hot path: a plain read answers "revoked?" and, when `last_used` is less than
    /// `tokenUseResolution` seconds old, nothing is written at all. Otherwise one upsert whose update only
    /// applies to a non-revoked row with a stale `last_used`, so concurrent requests of one token never queue
    /// behind each other's row lock for long (at most one of them writes per minute).
    public func recordTokenUse(jti: String, expires: Timestamp) async throws -> Bool {
        let now = Timestamp.now()
        let staleBefore = Timestamp(
            microsecondsSinceEpoch: now.microsecondsSinceEpoch - Self.tokenUseResolution * 1_000_000)
        return try await withDatabase { db in
            if let current = try await tokenState(jti, in: db) {
                if current.revoked { return false }
                if let lastUsed = current.lastUsed,
                    lastUsed.microsecondsSinceEpoch >= staleBefore.microsecondsSinceEpoch
                {
                    return true
                }
            }
            let row = try await db.raw(
                """
                INSERT INTO tokens (token_id, expires, last_used) VALUES (\(bind: jti), \(bind: bind(expires)), \(bind: bind(now)))
                ON CONFLICT (token_id) DO UPDATE SET last_used = excluded.last_used
                WHERE tokens.revoked_at IS NULL AND (tokens.last_used IS NULL OR tokens.last_used < \(bind: bind(staleBefore)))
                RETURNING expires
                """
            ).first()
            guard let row else {
                // Nothing written: either revoked meanwhile, or another request refreshed `last_used` first.
                return !(try await tokenState(jti, in: db)?.revoked ?? false)
            }
            let stored = try time(row, "expires")
            if stored?.secondsSinceEpoch != expires.secondsSinceEpoch {
                // Upstream only logs this too: the id is what counts, and subset tokens share it.
                let storedText = stored?.naiveString ?? "none"
                logger.info("Token \(jti) used with exp \(expires.naiveString), stored \(storedText)")
            }
            return true
        }
    }

    /// Whether the token row exists, is revoked, and when it was last used; read without locking.
    private func tokenState(_ jti: String, in db: any SQLDatabase) async throws -> (
        revoked: Bool, lastUsed: Timestamp?
    )? {
        let row = try await db.raw(
            "SELECT last_used, revoked_at FROM tokens WHERE token_id = \(bind: jti)"
        ).first()
        guard let row else { return nil }
        return (try time(row, "revoked_at") != nil, try time(row, "last_used"))
    }

    /// Revokes the token ids (creating rows for unknown ones); an earlier revocation time is kept.
    ///
    /// One statement per `idsPerQuery` ids, in one transaction: a statement per id made a request of 5,000 ids take
    /// seconds (and one of a body's worth, minutes). The ids are made unique first: PostgreSQL refuses an upsert
    /// that touches the same row twice.
    public func revokeTokens(_ ids: [String]) async throws {
        let now = bind(Timestamp.now())
        var seen = Set<String>()
        let unique = ids.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return }
        try await transaction { db in
            for start in stride(from: 0, to: unique.count, by: Self.idsPerQuery) {
                let rows = unique[start..<min(start + Self.idsPerQuery, unique.count)].map {
                    "(\(bind: $0), \(bind: now))" as SQLQueryString
                }
                try await db.raw(
                    "INSERT INTO tokens (token_id, revoked_at) VALUES " + rows.joined(separator: ", ")
                        + """
                         ON CONFLICT (token_id) DO UPDATE SET revoked_at = COALESCE(tokens.revoked_at, excluded.revoked_at)
                        """
                ).run()
            }
        }
    }

    /// How many ids one `IN (...)` query binds: a request body may list hundreds of thousands, and both engines
    /// cap the number of parameters of a statement (PostgreSQL 65535, SQLite 32766).
    static let idsPerQuery = 1000

    /// The usage rows of the given ids that exist, by token id.
    public func tokenUsages(_ ids: [String]) async throws -> [TokenUsage] {
        let unique = Array(Set(ids))
        guard !unique.isEmpty else { return [] }
        let chunks = stride(from: 0, to: unique.count, by: Self.idsPerQuery).map {
            Array(unique[$0..<min($0 + Self.idsPerQuery, unique.count)])
        }
        var usages: [TokenUsage] = []
        for chunk in chunks {
            usages += try await withDatabase { db in
                let rows = try await db.raw(
                    """
                    SELECT token_id, expires, last_used, revoked_at FROM tokens WHERE token_id IN (\(binds: chunk))
                    """
                ).all()
                return try rows.map { row in
                    TokenUsage(
                        tokenID: try row.string("token_id"), expires: try time(row, "expires"),
                        lastUsed: try time(row, "last_used"), revokedAt: try time(row, "revoked_at"))
                }
            }
        }
        return usages.sorted { $0.tokenID < $1.tokenID }
    }
}
