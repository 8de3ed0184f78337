import AsyncHTTPClient
import FlatManagerCore
import FlatManagerMetrics
import FlatManagerStore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Webhook POSTs over AsyncHTTPClient. Redirects are not followed (a 3xx answer is a failed attempt, as GitHub
/// treats it), and the whole request, answer included, must finish within the timeout.
public struct HTTPWebhookTransport: WebhookTransport {
    let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async
        -> WebhookResponse
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: Self.timeAmount(timeout))
            let answer = try? await response.body.collect(upTo: 64 * 1024)
            let text = answer.map { String(buffer: $0) } ?? ""
            return .answered(status: Int(response.status.code), excerpt: Self.excerpt(text))
        } catch {
            return .failed("\(error)")
        }
    }

    /// The start of an answer's body on one line, for the status page.
    static func excerpt(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .seconds(seconds) + .nanoseconds(attoseconds / 1_000_000_000)
    }
}

/// The webhook delivery service with its own HTTP client, which is shut down when the service ends (the service the
/// server runs when `webhooks` is configured).
public struct WebhookSender: Service {
    let store: Store
    let webhooks: [WebhookConfig]
    let policy: WebhookDeliveryPolicy
    let owner: String
    let logger: Logger
    let metrics: ServerMetrics?

    public init(
        store: Store, webhooks: [WebhookConfig], policy: WebhookDeliveryPolicy, owner: String, logger: Logger,
        metrics: ServerMetrics? = nil
    ) {
        self.store = store
        self.webhooks = webhooks
        self.policy = policy
        self.owner = owner
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = .seconds(Int64(policy.timeoutSeconds))
        try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            let service = WebhookDeliveryService(
                store: store, webhooks: webhooks, policy: policy, transport: HTTPWebhookTransport(client: client),
                owner: owner, logger: logger, metrics: metrics)
            try await service.run()
        }
    }
}
