import FlatManagerJobs
import FlatManagerMetrics
import Hummingbird
import NIOCore

/// `GET /metrics` (0.5, no auth): OpenMetrics text of everything the server counts. Cheap by design: the
/// expensive figures are kept up to date by `MetricsSampler`, so a scrape only formats numbers.
public struct MetricsController: Sendable {
    let metrics: ServerMetrics

    public init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: MetricsRegistry.contentType],
            body: .init(byteBuffer: ByteBuffer(string: metrics.registry.render())))
    }
}
