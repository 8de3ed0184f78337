import FlatManagerCore
import FlatManagerMetrics
import FlatManagerStore
import Logging
import ServiceLifecycle

/// How a webhook POST ended, as the delivery service sees it.
public enum WebhookResponse: Sendable, Equatable {
    /// An HTTP answer: its status and the start of its body (for the status page).
    case answered(status: Int, excerpt: String)
    /// No answer: connection refused, timeout, TLS failure, …
    case failed(String)
}

/// Sends one webhook POST (the server's is `HTTPWebhookTransport`; tests pass fakes).
public protocol WebhookTransport: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async -> WebhookResponse
}

/// Drains the webhook outbox (Store+WebhookDeliveries.swift): claims due deliveries, POSTs each signed body with
/// its headers, and records the outcome: delivered on a 2xx answer; otherwise tried again after the policy's
/// back-off (1 s, 2 s, 4 s … up to `retry-max-secs`), and given up (Failed) after `max-attempts` attempts or
/// `max-age-hours` after the event. Deliveries live in the database, so a restart loses none: the next start sends
/// what is due, and a claim that died with its process expires and is taken again (at least once delivery; the
/// `X-Flat-Manager-Delivery` id lets a receiver drop repeats).
///
/// The secret is looked up at send time by the delivery's URL and event, so it is never stored and a changed
/// secret applies to pending deliveries; a delivery whose webhook was removed from the config is given up.
public struct WebhookDeliveryService: Service {
    let store: Store
    let webhooks: [WebhookConfig]
    let policy: WebhookDeliveryPolicy
    let transport: any WebhookTransport
    /// This process as a claim owner (`JobDispatcher.processOwner()`).
    let owner: String
    let pollInterval: Duration
    let logger: Logger
    /// `flat_manager_webhook_attempts{event, outcome}` (delivered, retry, failed).
    let metrics: ServerMetrics?
    /// How many deliveries one round claims and sends at once.
    static let batchSize = 16
    static let userAgent = "flat-manager-webhooks/0.5.0-swift"

    public init(
        store: Store, webhooks: [WebhookConfig], policy: WebhookDeliveryPolicy, transport: any WebhookTransport,
        owner: String, pollInterval: Duration = .seconds(1), logger: Logger, metrics: ServerMetrics? = nil
    ) {
        self.store = store
        self.webhooks = webhooks
        self.policy = policy
        self.transport = transport
        self.owner = owner
        self.pollInterval = pollInterval
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let attempted = await deliverDue()
            if attempted < Self.batchSize {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
            }
        }
    }

    /// One round: claims what is due and attempts each delivery once, concurrently; returns how many.
    @discardableResult
    public func deliverDue() async -> Int {
        let batch: [WebhookDelivery]
        do {
            batch = try await store.claimDueWebhookDeliveries(
                owner: owner, now: .now(), leaseSeconds: policy.leaseSeconds, limit: Self.batchSize)
        } catch {
            logger.error("Cannot claim webhook deliveries: \(String(reflecting: error))")
            return 0
        }
        await withTaskGroup(of: Void.self) { group in
            for delivery in batch {
                group.addTask { await attempt(delivery) }
            }
        }
        return batch.count
    }

    /// Sends one claimed delivery and records how it went.
    func attempt(_ delivery: WebhookDelivery) async {
        let number = delivery.attempts.saturatingAdding(1)
        let outcome: Store.WebhookAttempt
        if let webhook = webhooks.first(where: { $0.url == delivery.url && $0.wants(delivery.event) }) {
            let body = Array(delivery.body.utf8)
            let response = await transport.post(
                url: delivery.url, headers: Self.headers(for: delivery, body: body, secret: webhook.secret),
                body: body, timeout: .seconds(policy.timeoutSeconds))
            outcome = classify(response, attempt: number, created: delivery.createdAt, now: .now())
        } else {
            outcome = .gaveUp(status: nil, error: "No configured webhook has this URL and event any more")
        }
        log(outcome, of: delivery, attempt: number)
        metrics?.webhookAttempts.increment([delivery.event.rawValue, Self.label(outcome)])
        do {
            let recorded = try await store.recordWebhookAttempt(
                id: delivery.id, owner: owner, attempt: outcome, at: .now())
            if !recorded {
                logger.warning(
                    "Webhook delivery \(delivery.deliveryID): the claim expired before the outcome was recorded")
            }
        } catch {
            logger.error("Cannot record webhook delivery \(delivery.deliveryID): \(String(reflecting: error))")
        }
    }

    /// The request headers: JSON, the event, the delivery id (the same on every attempt) and the signature.
    static func headers(for delivery: WebhookDelivery, body: [UInt8], secret: String) -> [(String, String)] {
        [
            ("Content-Type", "application/json"),
            ("User-Agent", userAgent),
            ("X-Flat-Manager-Event", delivery.event.rawValue),
            ("X-Flat-Manager-Delivery", delivery.deliveryID),
            (WebhookSignature.header, WebhookSignature.value(body: body, secret: secret)),
        ]
    }

    /// Delivered on a 2xx answer; otherwise retried after the back-off, or given up when the policy says so.
    func classify(_ response: WebhookResponse, attempt: Int, created: Timestamp, now: Timestamp) -> Store.WebhookAttempt
    {
        let status: Int?
        let error: String
        switch response {
        case .answered(let code, _) where (200..<300).contains(code):
            return .delivered(status: code)
        case .answered(let code, let excerpt):
            status = code
            error = excerpt.isEmpty ? "HTTP \(code)" : "HTTP \(code): \(excerpt)"
        case .failed(let message):
            status = nil
            error = message
        }
        if policy.givesUp(afterAttempt: attempt, created: created, now: now) {
            return .gaveUp(status: status, error: error)
        }
        let delay = policy.delayMilliseconds(afterAttempt: attempt)
        let retryAt = Timestamp(
            microsecondsSinceEpoch: now.microsecondsSinceEpoch.saturatingAdding(delay.saturatingMultiplied(by: 1000)))
        return .retry(status: status, error: error, retryAt: min(retryAt, .maximum))
    }

    static func label(_ outcome: Store.WebhookAttempt) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .retry: "retry"
        case .gaveUp: "failed"
        }
    }

    private func log(_ outcome: Store.WebhookAttempt, of delivery: WebhookDelivery, attempt: Int) {
        let target =
            "\(delivery.event.rawValue) delivery \(delivery.deliveryID) to "
            + WebhookConfig.displayURL(delivery.url, full: true)
        switch outcome {
        case .delivered(let status):
            logger.info("Webhook \(target) delivered (HTTP \(status), attempt \(attempt))")
        case .retry(_, let error, let retryAt):
            let micros = retryAt.microsecondsSinceEpoch.saturatingSubtracting(Timestamp.now().microsecondsSinceEpoch)
            let seconds = Double(micros) / 1e6
            logger.warning(
                "Webhook \(target) failed (attempt \(attempt)): \(error); retrying in \(max(0, seconds).rounded()) s")
        case .gaveUp(_, let error):
            logger.error("Webhook \(target) failed (attempt \(attempt)): \(error); giving up")
        }
    }
}
