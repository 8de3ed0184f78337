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
        let seconds = (ContinuousClock.now - start).fractionalSeconds
        let query = request.uri.query.map { "?\($0)" } ?? ""
        let agent = request.headers[.userAgent] ?? "-"
        let size = response.body.contentLength.map(String.init) ?? "-"
        LogContext.$metadata.withValue(metadata) {
            logger.info(
                "\(context.remoteAddress) \"\(request.method) \(request.uri.path)\(query) HTTP/1.1\" \(response.status.code) \(size) \(agent) \(String(format: "%.6f", seconds))"
            )
        }
        metrics?.requestAnswered(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code,
            seconds: seconds)
        return response
    }

    /// `X-Request-ID` on every response, so that an operator can find a client's request in the log.
    static let requestIDHeader = HTTPField.Name("X-Request-ID")

    /// The request id, and the build id or repo the path names (read from the path because routing has not
    /// happened yet when the metadata is bound).
    static func logMetadata(path: String, requestID: String) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["request_id": "\(requestID)"]
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        func part(_ index: Int) -> String? { index < parts.count ? parts[index] : nil }
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
