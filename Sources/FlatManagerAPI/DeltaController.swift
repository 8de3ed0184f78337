import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import OSTree
import SystemPackage

/// Remote delta workers (0.4.2 protocol): the delta upload (api.md §4.19) and the worker websocket (§4.20).
///
/// The websocket upgrade happens below the router (Hummingbird upgrades in the channel, `deltaWorkerServer`);
/// a request that does not qualify for the upgrade falls through to the router, whose `GET delta/worker` answers
/// with the same JSON errors as every other endpoint.
public struct DeltaController: Sendable {
    let repos: [String: RepoConfig]
    let logger: Logger

    public init(repos: [String: RepoConfig], logger: Logger) {
        self.repos = repos
        self.logger = logger
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("delta/upload/:repo", use: upload)
        group.get("delta/worker", use: worker)
    }

    /// Delta parts straight into the main repository; object names are refused.
    @Sendable func upload(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireClaims().require(sub: "delta", scope: .generate)
        let name = try EdgeNames.repo(context.parameters.get("repo") ?? "").rawValue
        guard let repo = repos[name] else { throw APIError.generic("No such repo") }
        guard let boundary = request.headers[.contentType].flatMap(MultipartBoundary.from(contentType:)) else {
            throw APIError.generic("Upload body is not multipart")
        }
        do {
            let sizes = try await UploadReceiver.receive(
                body: request.body, boundary: boundary, tempDirectory: repo.path.string + "/deltas/.tmp"
            ) { (fileName: String) throws(UploadError) -> UploadDestination in
                guard case .deltaPart(let part) = UploadFileName(fileName) else {
                    throw UploadError.invalidFilename(fileName)
                }
                return UploadDestination(finalPath: "\(repo.path)/\(part.relativePath)", verifier: nil)
            }
            return try JSONResponse.make(sizes)
        } catch let error as UploadError {
            switch error {
            case .io(let reason):
                logger.error("Delta upload to \(name) failed: \(reason)")
                throw APIError.internalError
            default:
                throw APIError.generic(error.message)
            }
        }
    }

    /// Reached only when the upgrade was refused: the token is checked here to give the JSON error.
    @Sendable func worker(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireClaims().require(sub: "delta", scope: .generate)
        throw APIError.generic("Expected a websocket upgrade")
    }
}

/// The server's HTTP/1 channel with the delta-worker websocket upgrade on `GET /api/v1/delta/worker`.
///
/// The token is verified before upgrading, exactly as the router would; anything else is not upgraded and goes
/// to the router. Keep-alive: the server pings every 30 s and closes a connection that does not answer (the
/// reference instead expects the worker's pings; either way a dead worker is dropped within a minute).
///
/// `tokens` verifies worker tokens with the main secret (`mainSigner`), revocation included; `timeouts` are
/// `http-header-timeout-secs` and `http-idle-timeout-secs` (`RequestTimeoutHandler`). `fastPath`, when given, answers
/// plain main-repository file requests on the event loop, from the connection's bytes, before NIO's HTTP decoder
/// (`RepoWireHandler`).
public func deltaWorkerServer(
    tokens: TokenMiddleware, mainSigner: TokenSigner, generator: DeltaGenerator,
    timeouts: (headerSeconds: Int, idleSeconds: Int), fastPath: RepoFastPath? = nil
) -> HTTPServerBuilder {
    let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
        ws: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30))))
    return HTTPServerBuilder { responder in
        let upgradeChannel = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: configuration) {
            request, channel, logger in
            guard request.method == .get, request.path?.split(separator: "?").first == "/api/v1/delta/worker",
                let header = request.headerFields[.authorization]
            else { return .dontUpgrade }
            do {
                let claims = try await tokens.verify(header: header, with: mainSigner)
                try claims.require(sub: "delta", scope: .generate)
            } catch {
                return .dontUpgrade
            }
            let peer = workerPeerName(headers: request.headerFields, peer: channel.remoteAddress)
            return .upgrade([:]) { inbound, outbound, _ in
                await DeltaWorkerConnection(generator: generator, name: peer, logger: logger).run(
                    inbound: inbound, outbound: outbound)
            }
        }
        return ForeignUpgradeFilteringChannel(
            inner: upgradeChannel, headerTimeoutSeconds: timeouts.headerSeconds,
            idleTimeoutSeconds: timeouts.idleSeconds, fastPath: fastPath
        ) { path, authorization in
            // The full check, revocation included, so that a refused worker gets the router's JSON error; the
            // upgrade channel checks again (a token may be revoked in between).
            guard path.split(separator: "?").first == "/api/v1/delta/worker", let authorization,
                let claims = try? await tokens.verify(header: authorization, with: mainSigner)
            else { return false }
            return (try? claims.require(sub: "delta", scope: .generate)) != nil
        }
    }
}

/// The websocket upgrade channel with `RequestTimeoutHandler` and `ForeignUpgradeFilter` in front of NIO's upgrade
/// handler, and the fast path's `RepoWireHandler` at the head of the pipeline (with `RepoWireRouterWatch` behind the
/// decoder).
struct ForeignUpgradeFilteringChannel: ServerChildChannel {
    let inner: HTTP1WebSocketUpgradeChannel
    let headerTimeoutSeconds: Int
    let idleTimeoutSeconds: Int
    let fastPath: RepoFastPath?
    /// Whether a websocket upgrade of this path with this `Authorization` header may go to the upgrade handler.
    let mayUpgrade: @Sendable (_ path: String, _ authorization: String?) async -> Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let upgrader = try pipeline.handler(
                type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            let wire = fastPath.map { RepoWireHandler(fastPath: $0) }
            if let wire { try pipeline.addHandler(wire, position: .first) }
            try pipeline.addHandler(
                RequestTimeoutHandler(
                    headerTimeoutSeconds: headerTimeoutSeconds, idleTimeoutSeconds: idleTimeoutSeconds, wire: wire,
                    logger: logger),
                position: .before(upgrader))
            if let wire { try pipeline.addHandler(RepoWireRouterWatch(wire: wire), position: .before(upgrader)) }
            try pipeline.addHandler(ForeignUpgradeFilter(mayUpgrade: mayUpgrade), position: .before(upgrader))
            return value
        }
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Turns an upgrade request that will not be upgraded into an ordinary request that closes the connection: any
/// protocol but websocket (libostree's curl asks for `h2c` on plain http), and websocket requests for other paths or
/// without a valid, unrevoked worker token (so they get the router's JSON error instead of a bare 400).
///
/// NIO's typed upgrade handler drops a request whose protocol no upgrader supports (the client gets an empty
/// reply), and its HTTP decoder stops parsing a connection after an upgrade request anyway, so the request is
/// served without the upgrade headers and the connection closed after the response. Deciding a websocket request
/// needs the database (revocation), so its parts are held back until the decision is made.
final class ForeignUpgradeFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let mayUpgrade: @Sendable (_ path: String, _ authorization: String?) async -> Bool
    /// Parts read after a websocket head while its decision is pending; nil when nothing is pending.
    private var held: [NIOAny]?

    init(mayUpgrade: @escaping @Sendable (_ path: String, _ authorization: String?) async -> Bool) {
        self.mayUpgrade = mayUpgrade
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if held != nil {
            held?.append(data)
            return
        }
        // Only the first request meets NIO's upgrade handler (it leaves the pipeline after it), and after an upgrade
        // the pipeline carries websocket bytes this handler must not see: it leaves after the first head.
        guard case .head(let head) = unwrapInboundIn(data), head.headers.contains(name: "upgrade") else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let websocket = head.headers["upgrade"].contains { $0.lowercased().contains("websocket") }
        guard websocket else {
            context.fireChannelRead(wrapInboundOut(.head(Self.withoutUpgrade(head))))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        held = []
        let decision = context.eventLoop.makePromise(of: Bool.self)
        let mayUpgrade = self.mayUpgrade
        let path = head.uri
        let authorization = head.headers["authorization"].first
        decision.completeWithTask { await mayUpgrade(path, authorization) }
        decision.futureResult.assumeIsolated().whenComplete { result in
            let allowed = (try? result.get()) ?? false
            let parts = self.held ?? []
            self.held = nil
            context.fireChannelRead(self.wrapInboundOut(.head(allowed ? head : Self.withoutUpgrade(head))))
            for part in parts { context.fireChannelRead(part) }
            context.fireChannelReadComplete()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // While a decision is pending the held parts have not been passed on yet; their read-complete follows them.
        if held == nil { context.fireChannelReadComplete() }
    }

    /// The head as an ordinary request whose connection closes after the response.
    private static func withoutUpgrade(_ head: HTTPRequestHead) -> HTTPRequestHead {
        var head = head
        head.headers.remove(name: "upgrade")
        head.headers.remove(name: "http2-settings")
        head.headers.replaceOrAdd(name: "connection", value: "close")
        return head
    }
}

/// The worker's address for logs, as upstream's "real IP": a proxy's `Forwarded: for=`, then `X-Forwarded-For`,
/// then `X-Real-IP` (the first address of each), else the peer of the connection.
func workerPeerName(headers: HTTPFields, peer: SocketAddress?) -> String {
    func header(_ text: String) -> String? {
        HTTPField.Name(text).flatMap { headers[$0] }
    }
    func unquoted<S: StringProtocol>(_ value: S) -> String {
        value.trimmingCharacters(in: CharacterSet.whitespaces.union(CharacterSet(charactersIn: "\"")))
    }
    if let forwarded = header("Forwarded"), let first = forwarded.split(separator: ",").first {
        for pair in first.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, unquoted(parts[0]).lowercased() == "for", !unquoted(parts[1]).isEmpty {
                return unquoted(parts[1])
            }
        }
    }
    for name in ["X-Forwarded-For", "X-Real-IP"] {
        if let value = header(name), let first = value.split(separator: ",").first, !unquoted(first).isEmpty {
            return unquoted(first)
        }
    }
    guard let peer else { return "unknown" }
    guard let ip = peer.ipAddress else { return peer.description }
    let host = peer.protocol == .inet6 ? "[\(ip)]" : ip
    return peer.port.map { "\(host):\($0)" } ?? host
}

/// One worker connection: JSON text frames in, assignments out, and the generator told about everything.
struct DeltaWorkerConnection {
    let generator: DeltaGenerator
    let name: String
    let logger: Logger

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        // Assignments are produced inside the generator's actor; a stream carries them to this connection's task.
        let (assignments, sink) = AsyncStream<DeltaAssignment>.makeStream()
        var workerID: Int?
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await assignment in assignments {
                    do {
                        try await outbound.write(.text(DeltaWorkerJSON.encode(assignment)))
                    } catch {
                        logger.info("Cannot send to delta worker \(name): \(error)")
                        return
                    }
                }
            }
            do {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message,
                        let decoded = DeltaWorkerJSON.decode(DeltaWorkerMessage.self, from: text)
                    else {
                        logger.warning("Ignoring an unexpected message from delta worker \(name): \(message)")
                        continue
                    }
                    switch decoded {
                    case .register(let capacity):
                        if let workerID { await generator.workerGone(workerID) }
                        workerID = await generator.register(name: name, capacity: Int(capacity)) { assignment in
                            if case .enqueued = sink.yield(assignment) { return true }
                            return false
                        }
                    case .unregister:
                        if let workerID { await generator.unregister(workerID) }
                    case .finished(let id, let errmsg):
                        guard let workerID else {
                            logger.warning("Delta worker \(name) finished \(id) before registering")
                            continue
                        }
                        await generator.finished(workerID, requestID: id, errmsg: errmsg)
                    }
                }
            } catch {
                logger.info("Delta worker \(name) connection failed: \(error)")
            }
            sink.finish()
            group.cancelAll()
        }
        if let workerID { await generator.workerGone(workerID) }
    }
}
