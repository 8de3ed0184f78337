import FlatManagerCore
import Foundation
import Hummingbird
import Logging

/// One access-log line per request, in upstream's shape (server.md §7.2), written when the handler returns.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        // libostree's curl fetcher sends `Upgrade: h2c` on plain http. We do not upgrade, but NIO's HTTP/1 decoder
        // stops parsing a connection after an upgrade request, so the next request on it would hang: close it.
        if request.headers[.upgrade] != nil { response.headers[.connection] = "close" }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let query = request.uri.query.map { "?\($0)" } ?? ""
        let agent = request.headers[.userAgent] ?? "-"
        let size = response.body.contentLength.map(String.init) ?? "-"
        logger.info(
            "\(context.remoteAddress) \"\(request.method) \(request.uri.path)\(query) HTTP/1.1\" \(response.status.code) \(size) \(agent) \(String(format: "%.6f", seconds))"
        )
        return response
    }
}
