import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One access-log line per request, in upstream's shape (server.md §7.2), written when the handler returns; the
/// request's figures for `/metrics`; and the request's log metadata (request id, build id, repo) for every line
/// logged while it is handled, whichever logger writes it.
public struct AccessLogMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let logger: Logger
    var metrics: ServerMetrics?

    public init(logger: Logger, metrics: ServerMetrics?) {
        self.logger = logger
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        let metadata = Self.logMetadata(path: request.uri.path, requestID: context.id)
        var response = try await LogContext.with(metadata) { try await next(request, context) }
        if let name = Self.requestIDHeader { response.headers[name] = context.id }
        let elapsed = ContinuousClock.now - start
        // The line is built only when the access log's level lets it through (`RUST_LOG=warn` silences it).
        if logger.logLevel <= .info {
            let query = request.uri.query.map { "?\($0)" } ?? ""
            let agent = request.headers[.userAgent] ?? "-"
            let size = response.body.contentLength.map(String.init) ?? "-"
            logger.info(
                "\(context.remoteAddress) \"\(request.method) \(request.uri.path)\(query) HTTP/1.1\" \(response.status.code) \(size) \(agent) \(Self.seconds(elapsed))",
                metadata: metadata)
        }
        if let metrics {
            metrics.requestAnswered(
                method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
                status: response.status.code, seconds: elapsed.fractionalSeconds)
        }
        return response
    }

    /// Seconds with 6 decimals (upstream's `%.6f`), without Foundation's `String(format:)`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return "0.000000" }
        let micros = String(attoseconds / 1_000_000_000_000)
        return "\(seconds)." + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
    }

    /// `X-Request-ID` on every response, so that an operator can find a client's request in the log.
    static let requestIDHeader = HTTPField.Name("X-Request-ID")

    /// The request id, and the build id or repo the path names (read from the path because routing has not
    /// happened yet when the metadata is bound).
    static func logMetadata(path: String, requestID: String) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["request_id": "\(requestID)"]
        // Only the first four components matter: the rest of a long path is not split.
        let parts = path.split(separator: "/", maxSplits: 4, omittingEmptySubsequences: true)
        func part(_ index: Int) -> Substring? { index < parts.count ? parts[index] : nil }
        if part(0) == "api", part(2) == "build", let id = part(3), Int32(id) != nil {
            metadata["build_id"] = "\(id)"
        } else if part(0) == "api", part(2) == "repo", let repo = part(3) {
            metadata["repo"] = "\(repo)"
        } else if part(0) == "build-repo", let id = part(1), Int32(id) != nil {
            metadata["build_id"] = "\(id)"
        } else if part(0) == "repo", let repo = part(1) {
            metadata["repo"] = "\(repo)"
        }
        return metadata
    }
}
