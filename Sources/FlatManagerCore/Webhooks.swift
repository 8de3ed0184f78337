import Crypto
import Foundation

// Webhooks (ours, opt-in, issue #15 part 4): `webhooks` in config.json names receivers; each event a job causes
// becomes one signed JSON POST per receiver that wants it. The deliveries are written to an outbox table together
// with the job's final status and sent by a service with retries (FlatManagerJobs, WebhookDeliveryService.swift).

/// An event a webhook can ask for (the `events` of a `webhooks` entry, and the `X-Flat-Manager-Event` header).
public enum WebhookEvent: String, Sendable, Codable, CaseIterable, Hashable {
    /// A commit job succeeded: the build is Ready, or Validating while its checks run.
    case buildCommitted = "build.committed"
    /// A publish job succeeded: the build's refs are in the main repository.
    case buildPublished = "build.published"
    /// A commit, publish or check job failed, or a check failed the build.
    case buildFailed = "build.failed"
    /// An update-repo job finished; the payload lists the repository files it changed.
    case repoUpdated = "repo.updated"
    /// A check finished with Review Required.
    case checkReviewRequired = "check.review-required"
}

/// One entry of `webhooks`: where to POST, which events, and the HMAC secret that signs each body.
///
/// The secret is never printed: `description` and the reflection leave it out, so neither a log line nor a
/// `--check-config` message can show it.
public struct WebhookConfig: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    public var url: String
    public var events: [WebhookEvent]
    public var secret: String

    public init(url: String, events: [WebhookEvent], secret: String) {
        self.url = url
        self.events = events
        self.secret = secret
    }

    public func wants(_ event: WebhookEvent) -> Bool { events.contains(event) }

    public var description: String {
        "webhook \(WebhookConfig.displayURL(url, full: true)) (\(events.map(\.rawValue).joined(separator: ", ")))"
    }

    public var customMirror: Mirror { Mirror(self, children: ["url": url, "events": events]) }

    /// `url` for display: without user and password, and without query (either may carry a credential). With
    /// `full` false only the origin (`scheme://host:port`) is kept, for viewers without a token.
    public static func displayURL(_ url: String, full: Bool) -> String {
        guard var components = URLComponents(string: url) else { return "(invalid URL)" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        if !full { components.path = "" }
        return components.string ?? "(invalid URL)"
    }
}

/// How the outbox is drained: exponential back-off from `retryBase` doubling up to `retryMax`, at most
/// `maxAttempts` attempts and `maxAge` after the event; each request may take `timeout`.
public struct WebhookDeliveryPolicy: Sendable, Equatable {
    public var retryBaseMilliseconds: Int = 1000
    public var retryMaxSeconds: Int = 3600
    public var maxAttempts: Int = 20
    public var maxAgeHours: Int = 48
    public var timeoutSeconds: Int = 10

    public init() {}

    /// The wait before the attempt after attempt `attempt` (1-based) failed: base · 2^(attempt-1), capped at
    /// `retryMax` (1 s, 2 s, 4 s … with the default base). Computed with checked arithmetic: never traps.
    public func delayMilliseconds(afterAttempt attempt: Int) -> Int64 {
        let cap = Int64(retryMaxSeconds).saturatingMultiplied(by: 1000)
        let base = Int64(max(retryBaseMilliseconds, 1))
        let exponent = min(max(attempt - 1, 0), 62)
        let (delay, overflow) = base.multipliedReportingOverflow(by: Int64(1) << Int64(exponent))
        return overflow ? cap : min(delay, cap)
    }

    /// Whether a delivery that failed its `attempts`-th attempt, created at `created`, is given up at `now`.
    public func givesUp(afterAttempt attempts: Int, created: Timestamp, now: Timestamp) -> Bool {
        attempts >= maxAttempts || created.adding(seconds: Int64(maxAgeHours).saturatingMultiplied(by: 3600)) <= now
    }

    /// How long a claim of a delivery lasts: the request's timeout and a margin, so that a process that died while
    /// sending leaves the delivery to another one soon.
    public var leaseSeconds: Int { timeoutSeconds.saturatingAdding(30) }
}

/// GitHub's webhook signature: `sha256=` and the lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the
/// secret's UTF-8 bytes (header `X-Hub-Signature-256`).
public enum WebhookSignature {
    public static let header = "X-Hub-Signature-256"

    public static func value(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256="
            + mac.map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }
}

/// The state of one delivery in the outbox.
public enum WebhookDeliveryState: Int16, Sendable, Codable, CaseIterable {
    /// Not yet delivered; sent at `nextAttemptAt`.
    case pending = 0
    /// A 2xx answer was received.
    case delivered = 1
    /// Given up: out of attempts or too old, or its webhook is no longer configured.
    case failed = 2

    public var name: String {
        switch self {
        case .pending: "pending"
        case .delivered: "delivered"
        case .failed: "failed"
        }
    }
}

/// One row of the outbox: a body for one receiver, and how its delivery went so far.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: Int32
    /// The `X-Flat-Manager-Delivery` header: the same on every attempt, so that a receiver can drop repeats.
    public var deliveryID: String
    public var event: WebhookEvent
    public var url: String
    /// The exact JSON text that is sent and signed.
    public var body: String
    public var repo: String?
    public var buildID: Int32?
    public var jobID: Int32?
    public var state: WebhookDeliveryState
    public var attempts: Int
    public var createdAt: Timestamp
    public var nextAttemptAt: Timestamp
    public var lastAttemptAt: Timestamp?
    public var lastStatus: Int?
    public var lastError: String?

    public init(
        id: Int32, deliveryID: String, event: WebhookEvent, url: String, body: String, repo: String?, buildID: Int32?,
        jobID: Int32?, state: WebhookDeliveryState, attempts: Int, createdAt: Timestamp, nextAttemptAt: Timestamp,
        lastAttemptAt: Timestamp?, lastStatus: Int?, lastError: String?
    ) {
        self.id = id
        self.deliveryID = deliveryID
        self.event = event
        self.url = url
        self.body = body
        self.repo = repo
        self.buildID = buildID
        self.jobID = jobID
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
    }

    /// A delivery to be written to the outbox.
    public struct Draft: Sendable, Equatable {
        public var deliveryID: String
        public var event: WebhookEvent
        public var url: String
        public var body: String
        public var repo: String?
        public var buildID: Int32?
        public var jobID: Int32?

        public init(
            deliveryID: String = UUID().uuidString.lowercased(), event: WebhookEvent, url: String, body: String,
            repo: String?, buildID: Int32?, jobID: Int32?
        ) {
            self.deliveryID = deliveryID
            self.event = event
            self.url = url
            self.body = body
            self.repo = repo
            self.buildID = buildID
            self.jobID = jobID
        }
    }
}

// MARK: - config.json

extension WebhookConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case url
        case events
        case secret
    }

    /// An entry of `webhooks`: `url` (http or https), `events` (known names, at least one) and a non-empty
    /// `secret`; any other key is refused.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        url = try c.required(.url, .string)
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else {
            throw ConfigDecodingProblem(at: c.codingPath + [CodingKeys.url], "expected an http or https URL")
        }
        let names = try c.required(.events, .strings)
        var events: [WebhookEvent] = []
        for name in names {
            guard let event = WebhookEvent(rawValue: name) else {
                let known = WebhookEvent.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigDecodingProblem(
                    at: c.codingPath + [CodingKeys.events], "unknown event \"\(name)\" (known: \(known))")
            }
            if !events.contains(event) { events.append(event) }
        }
        guard !events.isEmpty else {
            throw ConfigDecodingProblem(at: c.codingPath + [CodingKeys.events], "expected at least one event")
        }
        self.events = events
        secret = try c.required(.secret, .string)
        guard !secret.isEmpty else {
            throw ConfigDecodingProblem(at: c.codingPath + [CodingKeys.secret], "must not be empty")
        }
    }
}

extension WebhookDeliveryPolicy: Decodable {
    private enum CodingKeys: String, CodingKey {
        case retryBaseMilliseconds = "retry-base-ms"
        case retryMaxSeconds = "retry-max-secs"
        case maxAttempts = "max-attempts"
        case maxAgeHours = "max-age-hours"
        case timeoutSeconds = "timeout-secs"
    }

    /// `webhook-delivery`: every key optional, each with its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        let defaults = WebhookDeliveryPolicy()
        retryBaseMilliseconds = try c.defaulted(
            .retryBaseMilliseconds, defaults.retryBaseMilliseconds, .integer(in: 1...3_600_000))
        retryMaxSeconds = try c.defaulted(.retryMaxSeconds, defaults.retryMaxSeconds, .integer(in: 1...604_800))
        maxAttempts = try c.defaulted(.maxAttempts, defaults.maxAttempts, .integer(in: 1...1000))
        maxAgeHours = try c.defaulted(.maxAgeHours, defaults.maxAgeHours, .integer(in: 1...8760))
        timeoutSeconds = try c.defaulted(.timeoutSeconds, defaults.timeoutSeconds, .integer(in: 1...600))
    }
}
