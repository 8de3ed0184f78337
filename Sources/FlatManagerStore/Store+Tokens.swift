import FlatManagerCore
import Logging
import SQLKit

/// Token usage tracking and revocation (api.md §9.6).
extension Store {
    /// Records a use of the token with this `jti`: creates its row (expires = the token's `exp`) or refreshes
    /// `last_used`. Returns false, changing nothing, when the token has been revoked.
    ///
    /// One statement: the upsert's update is skipped for a revoked row, and then nothing is returned.
    public func recordTokenUse(jti: String, expires: Timestamp) async throws -> Bool {
        let now = bind(Timestamp.now())
        return try await withDatabase { db in
            let row = try await db.raw(
                """
                INSERT INTO tokens (token_id, expires, last_used) VALUES (\(bind: jti), \(bind: bind(expires)), \(bind: now))
                ON CONFLICT (token_id) DO UPDATE SET last_used = excluded.last_used WHERE tokens.revoked_at IS NULL
                RETURNING expires
                """
            ).first()
            guard let row else { return false }
            let stored = try time(row, "expires")
            if stored?.secondsSinceEpoch != expires.secondsSinceEpoch {
                // Upstream only logs this too: the id is what counts, and subset tokens share it.
                let storedText = stored?.naiveString ?? "none"
                logger.info("Token \(jti) used with exp \(expires.naiveString), stored \(storedText)")
            }
            return true
        }
    }

    /// Revokes the token ids (creating rows for unknown ones); an earlier revocation time is kept.
    public func revokeTokens(_ ids: [String]) async throws {
        let now = bind(Timestamp.now())
        try await transaction { db in
            for id in ids {
                try await db.raw(
                    """
                    INSERT INTO tokens (token_id, revoked_at) VALUES (\(bind: id), \(bind: now))
                    ON CONFLICT (token_id) DO UPDATE SET revoked_at = COALESCE(tokens.revoked_at, excluded.revoked_at)
                    """
                ).run()
            }
        }
    }

    /// The usage rows of the given ids that exist, by token id.
    public func tokenUsages(_ ids: [String]) async throws -> [TokenUsage] {
        guard !ids.isEmpty else { return [] }
        return try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT token_id, expires, last_used, revoked_at FROM tokens WHERE token_id IN (\(binds: ids))
                ORDER BY token_id
                """
            ).all()
            return try rows.map { row in
                TokenUsage(
                    tokenID: try row.string("token_id"), expires: try time(row, "expires"),
                    lastUsed: try time(row, "last_used"), revokedAt: try time(row, "revoked_at"))
            }
        }
    }
}
