import FlatManagerCore
import Foundation
import SQLKit

/// The webhook outbox (`webhook_deliveries`, migration swift-0006).
///
/// Deliveries are inserted in the transaction that writes the final status of the job that caused them
/// (`finishJob(…, webhooks:)`), so an event is recorded exactly when its job's end is. Senders claim due rows with
/// a lease (owner and expiry) in one statement; on PostgreSQL the candidates are selected `FOR UPDATE SKIP LOCKED`,
/// so several server processes never claim the same row at once, and a row whose sender died is claimed again once
/// its lease expires. An attempt's outcome is recorded only by the claim's owner.
extension Store {
    static let webhookColumns = """
        id, delivery_id, event, url, body, repo, build_id, job_id, state, attempts, created_at, next_attempt_at,
        last_attempt_at, last_status, last_error
        """

    /// How one attempt ended.
    public enum WebhookAttempt: Sendable, Equatable {
        /// A 2xx answer with this status.
        case delivered(status: Int)
        /// Failed (an HTTP status, or none when no answer came); tried again at `retryAt`.
        case retry(status: Int?, error: String, retryAt: Timestamp)
        /// Failed for the last time.
        case gaveUp(status: Int?, error: String)
    }

    /// Writes deliveries to the outbox in their own transaction (tests; the dispatcher writes them with the job).
    public func enqueueWebhookDeliveries(_ drafts: [WebhookDelivery.Draft], now: Timestamp = .now()) async throws {
        guard !drafts.isEmpty else { return }
        try await transaction { db in try await insertWebhookDeliveries(drafts, now: now, in: db) }
    }

    /// Inside the caller's transaction: one Pending row per draft, due at once.
    func insertWebhookDeliveries(_ drafts: [WebhookDelivery.Draft], now: Timestamp, in db: any SQLDatabase)
        async throws
    {
        for draft in drafts {
            try await db.raw(
                """
                INSERT INTO webhook_deliveries (delivery_id, event, url, body, repo, build_id, job_id, state, attempts,
                created_at, next_attempt_at)
                VALUES (\(bind: draft.deliveryID), \(bind: draft.event.rawValue), \(bind: draft.url),
                \(bind: draft.body), \(bind: draft.repo), \(bind: draft.buildID), \(bind: draft.jobID),
                \(bind: WebhookDeliveryState.pending.rawValue), 0, \(bind: bind(now)), \(bind: bind(now)))
                """
            ).run()
        }
    }

    /// Claims up to `limit` Pending deliveries that are due at `now` and not claimed by a live lease, for `owner`
    /// until `now + leaseSeconds`; oldest first.
    public func claimDueWebhookDeliveries(owner: String, now: Timestamp, leaseSeconds: Int, limit: Int)
        async throws -> [WebhookDelivery]
    {
        let expires = now.adding(seconds: Int64(leaseSeconds))
        return try await transaction { db in
            let rows = try await db.raw(
                """
                UPDATE webhook_deliveries SET lease_owner = \(bind: owner), lease_expires_at = \(bind: bind(expires))
                WHERE id IN (SELECT id FROM webhook_deliveries
                    WHERE state = \(bind: WebhookDeliveryState.pending.rawValue)
                    AND next_attempt_at <= \(bind: bind(now))
                    AND (lease_expires_at IS NULL OR lease_expires_at < \(bind: bind(now)))
                    ORDER BY id LIMIT \(bind: max(limit, 1))\(unsafeRaw: kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""))
                RETURNING \(unsafeRaw: Self.webhookColumns)
                """
            ).all()
            return try rows.map(decodeWebhookDelivery).sorted { $0.id < $1.id }
        }
    }

    /// Records an attempt of a claimed delivery and releases the claim; only `owner`'s claim is honoured. Returns
    /// whether it was recorded (false: the claim expired and another process took the row).
    @discardableResult
    public func recordWebhookAttempt(id: Int32, owner: String, attempt: WebhookAttempt, at now: Timestamp)
        async throws -> Bool
    {
        let (state, status, error, next): (WebhookDeliveryState, Int?, String?, Timestamp) =
            switch attempt {
            case .delivered(let status): (.delivered, status, nil, now)
            case .retry(let status, let error, let retryAt): (.pending, status, error, retryAt)
            case .gaveUp(let status, let error): (.failed, status, error, now)
            }
        return try await withDatabase { db in
            let row = try await db.raw(
                """
                UPDATE webhook_deliveries SET state = \(bind: state.rawValue), attempts = attempts + 1,
                last_attempt_at = \(bind: bind(now)), last_status = \(bind: status), last_error = \(bind: error),
                next_attempt_at = \(bind: bind(next)), lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(bind: id) AND lease_owner = \(bind: owner)
                RETURNING id
                """
            ).first()
            return row != nil
        }
    }

    /// The most recent deliveries, newest first (the webhook status page).
    public func recentWebhookDeliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT \(unsafeRaw: Self.webhookColumns) FROM webhook_deliveries ORDER BY id DESC
                LIMIT \(bind: max(limit, 1))
                """
            ).all()
            return try rows.map(decodeWebhookDelivery)
        }
    }

    /// The number of deliveries in each state.
    public func webhookDeliveryCounts() async throws -> [WebhookDeliveryState: Int] {
        try await withDatabase { db in
            let rows = try await db.raw("SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state").all()
            var counts: [WebhookDeliveryState: Int] = [:]
            for row in rows {
                guard let state = WebhookDeliveryState(rawValue: try row.int16("state")) else { continue }
                counts[state] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
    }

    func decodeWebhookDelivery(_ row: any SQLRow) throws -> WebhookDelivery {
        let eventName = try row.string("event")
        guard let event = WebhookEvent(rawValue: eventName) else {
            throw StoreError.database("webhook_deliveries holds an unknown event: \(eventName)")
        }
        return WebhookDelivery(
            id: try row.int32("id"), deliveryID: try row.string("delivery_id"), event: event,
            url: try row.string("url"), body: try row.string("body"), repo: try row.optionalString("repo"),
            buildID: try row.optionalInt32("build_id"), jobID: try row.optionalInt32("job_id"),
            state: WebhookDeliveryState(rawValue: try row.int16("state")) ?? .failed,
            attempts: try row.decode(column: "attempts", as: Int.self),
            createdAt: try time(row, "created_at") ?? .now(),
            nextAttemptAt: try time(row, "next_attempt_at") ?? .now(),
            lastAttemptAt: try time(row, "last_attempt_at"),
            lastStatus: try row.decode(column: "last_status", as: Int?.self),
            lastError: try row.optionalString("last_error"))
    }
}

/// The refs each main repository had when its last update-repo job ended (`webhook_repo_refs`), for repo.updated.
extension Store {
    /// The refs recorded for `repo` (ref name → commit), nil when none were recorded yet.
    public func webhookRepoRefs(repo: String) async throws -> [String: String]? {
        try await withDatabase { db in
            let row = try await db.raw("SELECT refs FROM webhook_repo_refs WHERE repo = \(bind: repo)").first()
            guard let text = try row?.string("refs") else { return nil }
            return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
        }
    }

    /// Records the refs of `repo` (ref name → commit).
    public func setWebhookRepoRefs(repo: String, refs: [String: String]) async throws {
        let pairs = refs.keys.sorted().map { "\(JSONText.string($0)):\(JSONText.string(refs[$0] ?? ""))" }
        let text = "{" + pairs.joined(separator: ",") + "}"
        try await withDatabase { db in
            try await db.raw(
                """
                INSERT INTO webhook_repo_refs (repo, refs) VALUES (\(bind: repo), \(bind: text))
                ON CONFLICT (repo) DO UPDATE SET refs = excluded.refs
                """
            ).run()
        }
    }
}
