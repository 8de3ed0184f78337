import FlatManagerMetrics
import Hummingbird
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection's part of `RepoFastPath`: sits right after the HTTP/1 decoder (and `RequestTimeoutHandler`), answers
/// the requests the fast path takes on the event loop, and hands every other request on to the router untouched.
///
/// Answers keep the order of their requests: once a request went to the router, the following ones go there too
/// until its response has ended (a pipelining client gets its answers in order). A websocket upgrade takes the
/// handler out of the pipeline. At graceful shutdown (`ChannelShouldQuiesceEvent`) the connection is closed as soon
/// as nothing is being answered or written, whether or not the router has seen it.
final class RepoFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let fastPath: RepoFastPath
    /// A request the fast path took, waiting for its end.
    private var taken: (head: HTTPRequestHead, target: RepoFastPath.Target, started: NIODeadline)?
    /// Whether the parts read now belong to a request handed to the router.
    private var forwarding = false
    /// Requests handed to the router whose response has not ended yet.
    private var outstanding = 0
    /// Fast-path responses still being written.
    private var writing = 0
    private var quiescing = false
    /// Whether any request went to the router: until one does, NIO's upgrade handler behind this one waits for a first
    /// request, and fails its negotiation when the connection ends.
    private var routerUsed = false
    private var remote: String?
    /// Fast answers not yet added to `flat_manager_http_fast_path_responses` (added in batches, and when the
    /// connection ends).
    private var uncounted = 0
    private var dates = HTTPDateCache()
    private var modifiedDates = HTTPDateCache()

    init(fastPath: RepoFastPath) {
        self.fastPath = fastPath
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if !forwarding, outstanding == 0, !quiescing, let target = fastPath.target(of: head) {
                taken = (head, target, .now())
                return
            }
            if head.headers.contains(name: "upgrade") {
                // After an upgrade the pipeline carries other bytes than HTTP parts.
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            forwarding = true
            outstanding += 1
            routerUsed = true
            context.fireChannelRead(data)
        case .body:
            // A taken request has no body (`RepoFastPath.acceptsHeaders`); anything else belongs to the router's.
            if taken == nil { context.fireChannelRead(data) }
        case .end:
            if let request = taken {
                taken = nil
                answer(context, request.head, request.target, started: request.started)
            } else {
                forwarding = false
                context.fireChannelRead(data)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The router's response to the oldest request it was handed has ended.
        outstanding = max(0, outstanding - 1)
        guard quiescing, outstanding == 0, !forwarding else {
            context.write(data, promise: promise)
            return
        }
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in self.closeIfIdle(context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        countAnswers()
        // A connection only this handler answered ends as one that closed its input before a first request: the
        // upgrade handler then gives up quietly (otherwise Hummingbird logs an error for every such connection).
        if !routerUsed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        countAnswers()
    }

    private func countAnswers() {
        guard uncounted > 0 else { return }
        fastPath.metrics?.httpFastPath.increment(by: Double(uncounted))
        uncounted = 0
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        // The router's connection handler closes after its own response; when it has none in hand, this handler
        // closes the connection itself.
        if forwarding || outstanding > 0 { context.fireUserInboundEventTriggered(event) }
        closeIfIdle(context)
    }

    private func closeIfIdle(_ context: ChannelHandlerContext) {
        guard quiescing, taken == nil, !forwarding, outstanding == 0, writing == 0, context.channel.isActive else {
            return
        }
        context.close(promise: nil)
    }

    /// Answers a taken request, or hands it to the router when the file is not a plain regular file below the root.
    private func answer(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ target: RepoFastPath.Target, started: NIODeadline
    ) {
        guard case .descriptor(let descriptor) = target.root.open(target.relative) else {
            return handOn(context, head)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            closeDescriptor(descriptor)
            return handOn(context, head)
        }
        let identity = FileIdentity(stat: info)
        let size = identity.size
        var body: IOData?
        if target.method == .GET, size > 0 {
            if size <= RepoFastPath.inlineLimit {
                guard
                    let buffer = OpenFile.read(
                        descriptor, count: Int(size), at: 0, allocator: context.channel.allocator)
                else {
                    closeDescriptor(descriptor)
                    return handOn(context, head)
                }
                closeDescriptor(descriptor)
                body = .byteBuffer(buffer)
            } else {
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
                body = .fileRegion(FileRegion(fileHandle: handle, readerIndex: 0, endIndex: Int(size)))
            }
        } else {
            closeDescriptor(descriptor)
        }

        let requestID = RequestID().description
        let type = FileContentType.forName(target.name)
        var headers = HTTPHeaders()
        headers.reserveCapacity(9)
        headers.add(name: "ETag", value: identity.eTag)
        headers.add(name: "Last-Modified", value: modifiedDates.format(identity.modifiedSeconds))
        headers.add(name: "Accept-Ranges", value: "bytes")
        headers.add(name: "Content-Type", value: type)
        headers.add(
            name: "Content-Disposition", value: FileContentType.disposition(forPlainName: target.name, type: type))
        headers.add(name: "Content-Length", value: String(size))
        headers.add(name: "X-Request-ID", value: requestID)
        headers.add(name: "Date", value: dates.format(time(nil)))
        headers.add(name: "Server", value: "flat-manager")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        var region: FileRegion?
        if let body {
            if case .fileRegion(let fileRegion) = body { region = fileRegion }
            context.write(wrapOutboundOut(.body(body)), promise: nil)
        }
        writing += 1
        let ended = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: ended)
        ended.futureResult.assumeIsolated().whenComplete { _ in
            if let region { try? region.fileHandle.close() }
            self.writing -= 1
            self.closeIfIdle(context)
        }
        if remote == nil { remote = context.channel.remoteAddress?.description ?? "-" }
        fastPath.record(target, head: head, remote: remote ?? "-", requestID: requestID, size: size, started: started)
        uncounted += 1
        if uncounted >= 256 { countAnswers() }
    }

    /// Gives a taken request to the router after all.
    private func handOn(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        outstanding += 1
        routerUsed = true
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.fireChannelRead(wrapInboundOut(.end(nil)))
    }
}

extension FileIdentity {
    /// The identity of a file from its `stat`.
    init(stat info: stat) {
        #if canImport(Glibc)
            let (modified, changed) = (info.st_mtim, info.st_ctim)
        #else
            let (modified, changed) = (info.st_mtimespec, info.st_ctimespec)
        #endif
        self.init(
            size: Int64(info.st_size), modifiedSeconds: Int(modified.tv_sec),
            modifiedNanoseconds: Int(modified.tv_nsec), changedSeconds: Int(changed.tv_sec),
            changedNanoseconds: Int(changed.tv_nsec))
    }
}

/// `close(2)`, outside the handler whose channel `close` would shadow it.
private func closeDescriptor(_ descriptor: Int32) {
    close(descriptor)
}
