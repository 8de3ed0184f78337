import FlatManagerCore
import FlatManagerStore
import Hummingbird
import NIOCore

/// `GET /status/webhooks` (ours): the most recent webhook deliveries with their event, receiver, attempts, last
/// answer or error, state and times. Secrets are never shown (the outbox does not hold them).
///
/// Like the other status pages it is public unless `status-requires-token`; anonymous viewers see only the origin
/// of each receiver URL (a path may carry a credential, as Slack's do) and no error text, a token with sub `build`
/// and the `jobs` scope sees the URL without user, password and query, and the errors.
public struct WebhookStatusController: Sendable {
    let store: Store
    /// `status-requires-token`.
    let requiresToken: Bool
    /// How many deliveries the page lists.
    static let limit = 100

    public init(store: Store, requiresToken: Bool) {
        self.store = store
        self.requiresToken = requiresToken
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("status/webhooks", use: page)
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let full = try seesDetails(context)
        let deliveries = try await store.recentWebhookDeliveries(limit: Self.limit)
        let rows = deliveries.map { Self.row($0, full: full) }.joined(separator: "\n")
        let html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Webhook deliveries</title>
            <style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.failed{color:#b00}.delivered{color:#070}</style>
            </head><body><p><a href="/status">All jobs and builds</a></p><h1>Webhook deliveries</h1>
            <table id="deliveries"><tr><th>Id</th><th>Event</th><th>URL</th><th>Build</th><th>Job</th><th>State</th>
            <th>Attempts</th><th>Last status</th><th>Last error</th><th>Created</th><th>Last attempt</th>
            <th>Next attempt</th></tr>
            \(rows)
            </table>\(deliveries.isEmpty ? "<p>No webhook deliveries.</p>" : "")
            </body></html>
            """
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Whether the viewer has a `jobs` token; with `status-requires-token`, 403 otherwise (a missing token was
    /// refused with 401 by the token middleware).
    func seesDetails(_ context: AppRequestContext) throws -> Bool {
        guard let claims = context.claims else {
            if requiresToken { throw APIError.insufficient(.noToken) }
            return false
        }
        do {
            try claims.require(sub: "build", scope: .jobs)
            return true
        } catch {
            if requiresToken { throw APIError.insufficient(error) }
            return false
        }
    }

    static func row(_ delivery: WebhookDelivery, full: Bool) -> String {
        let cells: [String] = [
            "\(delivery.id)",
            delivery.event.rawValue,
            WebhookConfig.displayURL(delivery.url, full: full),
            delivery.buildID.map { "\($0)" } ?? "",
            delivery.jobID.map { "\($0)" } ?? "",
            delivery.state.name,
            "\(delivery.attempts)",
            delivery.lastStatus.map { "\($0)" } ?? "",
            full ? delivery.lastError ?? "" : (delivery.lastError == nil ? "" : "(needs a token)"),
            delivery.createdAt.naiveString,
            delivery.lastAttemptAt?.naiveString ?? "",
            delivery.state == .pending ? delivery.nextAttemptAt.naiveString : "",
        ]
        let html = cells.map { "<td>\(escape($0))</td>" }.joined()
        return """
            <tr class="delivery \(delivery.state.name)" data-event="\(delivery.event.rawValue)" \
            data-state="\(delivery.state.name)" data-attempts="\(delivery.attempts)">\(html)</tr>
            """
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
