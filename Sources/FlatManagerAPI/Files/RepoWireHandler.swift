import FlatManagerMetrics
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection's part of `RepoFastPath`, at the head of the channel pipeline: it reads request heads from the
/// connection's bytes itself (`WireRequestHead`), answers the ones the fast path takes by writing the response bytes
/// straight to the socket, and hands every other request's bytes to NIO's HTTP decoder and the router (issue #13).
///
/// A plain object GET then costs no HTTP parts, header dictionaries or encoder passes: one scan of the bytes, one
/// `openat2`, one `fstat`, one `pread` into the response buffer, one write.
///
/// Order and state:
/// - `fast`: heads are read here. A head the fast path declines is handed on alone (a bodiless `GET`/`HEAD`) and the
///   handler waits (`router`) until `RepoWireRouterWatch` reports the router's response ended; bytes that arrive
///   meanwhile are held (pipelined answers keep their order), up to `heldLimit`.
/// - `passthrough`: anything else (other methods, bodies, websocket upgrades, `Connection: close`, HTTP/1.0,
///   whatever the strict reader does not take) hands this and all later bytes to the decoder for good.
/// - An `h2c` upgrade request (libostree's curl sends one on each new connection) is served as a plain request: the
///   fast path ignores the upgrade, and a head handed to the router goes without its upgrade lines, so the
///   connection stays keep-alive instead of closing after one answer.
/// - At graceful shutdown (`ChannelShouldQuiesceEvent`) a connection in `fast` is closed once what was written has
///   gone out; otherwise the router closes it after its response.
final class RepoWireHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = IOData

    enum Mode: Equatable { case fast, router, passthrough }

    let fastPath: RepoFastPath
    /// When the fast path last answered a request: `RequestTimeoutHandler`'s header deadline runs from there too.
    private(set) var lastAnswered: NIODeadline?
    private(set) var mode = Mode.fast
    /// Bytes read but neither answered nor handed on.
    private var pending: ByteBuffer?
    /// Whether bytes went to the decoder since the last read-complete was passed on.
    private var forwarded = false
    private var quiescing = false
    private var closing = false
    /// Reading stopped until the socket takes what was written (`serve`).
    private var pausedForWrites = false
    /// Whether any bytes went to the decoder: until some do, NIO's upgrade handler behind waits for a first
    /// request, and fails its negotiation when the connection ends.
    private var routerUsed = false
    private var context: ChannelHandlerContext?
    /// How many bytes the client's address takes at the start of `scratch`.
    private var remoteLength = 0
    /// Fast answers not yet added to `/metrics` (`tally`).
    private var answers = ServerMetrics.FastPathTally()
    /// The `Authorization` value last accepted on this connection, and its token's expiry.
    private var acceptedToken: (value: [UInt8], expiry: Int64)?
    /// The access-log message being written (kept for its capacity, and its first `remoteLength` bytes).
    private var scratch: ByteBuffer?
    /// The channel's allocator and writability, kept here: reaching them through `context.channel` for every
    /// answer costs an existential's retains and atomics (issue #13).
    private var allocator = ByteBufferAllocator()
    private var requestIDs = WireRequestID()
    private var writable = true

    /// Bytes held while the router answers; a client that sends more than this meanwhile has them all handed to the
    /// decoder (which handles pipelining itself).
    static let heldLimit = 64 * 1024

    init(fastPath: RepoFastPath) {
        self.fastPath = fastPath
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        writable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        countAnswers()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if mode == .passthrough {
            forwarded = true
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if pending == nil {
            pending = bytes
        } else {
            pending?.writeBuffer(&bytes)
        }
        switch mode {
        case .fast: serve(context)
        case .router where (pending?.readableBytes ?? 0) > Self.heldLimit: passThrough(context)
        case .router, .passthrough: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard forwarded || mode != .fast else {
            // Only the fast path read these bytes: ask for the next read from here, at the head of the pipeline. NIO
            // would otherwise send its automatic read from the tail through every handler (a retain and a call per
            // handler, per read), and none of them holds a read back while nothing went their way (issue #13).
            if !pausedForWrites, !quiescing { context.read() }
            return
        }
        forwarded = false
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        countAnswers()
        // A connection only this handler answered ends as one that closed its input before a first request: the
        // upgrade handler then gives up quietly (otherwise Hummingbird logs an error for every such connection).
        if !routerUsed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        // The router's connection handler closes after its own response; when it has none in hand, this handler
        // closes the connection itself.
        if mode != .fast { context.fireUserInboundEventTriggered(event) }
        closeIfIdle(context)
    }

    /// The router's response to the request handed to it has ended (`RepoWireRouterWatch`).
    func routerAnswered() {
        guard mode == .router, let context else { return }
        mode = .fast
        guard quiescing || pending != nil else { return }
        // Not from inside the router's write: held requests are read on the next turn of the event loop.
        context.eventLoop.assumeIsolated().execute {
            guard self.mode == .fast, let context = self.context else { return }
            if self.quiescing {
                self.closeIfIdle(context)
                return
            }
            self.resume(context)
        }
    }

    /// Serves held requests outside a read (after the router's answer, or once the socket takes data again); bytes
    /// that went to the decoder meanwhile get their read-complete.
    private func resume(_ context: ChannelHandlerContext) {
        serve(context)
        if forwarded {
            forwarded = false
            context.fireChannelReadComplete()
        }
    }

    /// Reads the held bytes head by head while the fast path answers them. While the socket does not take what was
    /// written (a client that pipelines requests without reading the answers), the connection stops reading and
    /// answering until it does: what the server holds for it stays bounded by NIO's write watermark.
    private func serve(_ context: ChannelHandlerContext) {
        while mode == .fast, !quiescing, var buffer = pending {
            guard buffer.readableBytes > 0 else {
                pending = nil
                return
            }
            guard writable else {
                pauseReading(context)
                return
            }
            let scan = buffer.withUnsafeReadableBytes { WireRequestHead.scan($0) }
            switch scan {
            case .incomplete:
                return
            case .passthrough:
                passThrough(context)
                return
            case .request(let head):
                let started = NIODeadline.now()
                if !answer(context, head, buffer, started: started) {
                    handOn(context, head, buffer)
                }
                buffer.moveReaderIndex(forwardBy: head.length)
                pending = buffer.readableBytes > 0 ? buffer : nil
            }
        }
    }

    private func pauseReading(_ context: ChannelHandlerContext) {
        guard !pausedForWrites else { return }
        pausedForWrites = true
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        context.fireChannelWritabilityChanged()
        guard pausedForWrites, writable else { return }
        pausedForWrites = false
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        guard mode == .fast else { return }
        resume(context)
    }

    /// Hands all held and later bytes to the decoder.
    private func passThrough(_ context: ChannelHandlerContext) {
        mode = .passthrough
        routerUsed = true
        if let bytes = pending, bytes.readableBytes > 0 {
            forwarded = true
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        pending = nil
    }

    /// Hands one bodiless request to the router (without its `h2c` upgrade lines) and waits for its response.
    private func handOn(_ context: ChannelHandlerContext, _ head: WireRequestHead, _ buffer: ByteBuffer) {
        let start = buffer.readerIndex
        var bytes: ByteBuffer
        if head.upgradeLines.isEmpty, let slice = buffer.getSlice(at: start, length: head.length) {
            bytes = slice
        } else {
            bytes = allocator.buffer(capacity: head.length)
            var from = 0
            for line in head.upgradeLines + [head.length..<head.length] {
                if var part = buffer.getSlice(at: start + from, length: line.lowerBound - from) {
                    bytes.writeBuffer(&part)
                }
                from = line.upperBound
            }
        }
        mode = .router
        routerUsed = true
        forwarded = true
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    private func closeIfIdle(_ context: ChannelHandlerContext) {
        guard quiescing, mode == .fast, !closing, context.channel.isActive else { return }
        closing = true
        // Writes complete in order: once an empty one has, everything answered before it has gone out.
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: flushed)
        flushed.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func countAnswers() {
        guard answers.count > 0 else { return }
        fastPath.metrics?.fastPathAnswered(&answers)
    }

    /// Answers a request the fast path takes; false when it does not (the router decides).
    private func answer(
        _ context: ChannelHandlerContext, _ head: WireRequestHead, _ request: ByteBuffer, started: NIODeadline
    ) -> Bool {
        guard head.plain else { return false }
        return request.withUnsafeReadableBytes { bytes in
            let uri = UnsafeRawBufferPointer(rebasing: bytes[head.uri])
            let target = fastPath.target(method: head.method, uri: uri) {
                guard let range = head.authorization else { return true }
                return authorized(UnsafeRawBufferPointer(rebasing: bytes[range]))
            }
            guard let target else { return false }
            // Not retained for the call: the fast path holds its roots for as long as the server runs, and a retain
            // here is an atomic on a cache line every event loop writes (issue #13).
            unowned(unsafe) let root = target.repo.root
            guard
                case .descriptor(let descriptor) = root.open(
                    UnsafeRawBufferPointer(rebasing: uri[target.relative]))
            else { return false }
            var info = stat()
            guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                closeDescriptor(descriptor)
                return false
            }
            let identity = FileIdentity(stat: info)
            let size = identity.size
            let isGet = head.method == .get
            let inline = !isGet || size <= RepoFastPath.inlineLimit
            var response = allocator.buffer(capacity: 512 + (isGet && inline ? Int(size) : 0))
            let name = UnsafeRawBufferPointer(rebasing: uri[target.name])
            guard let requestID = writeHead(into: &response, identity: identity, name: name) else {
                closeDescriptor(descriptor)
                return false
            }
            if isGet, size > 0, inline {
                guard OpenFile.append(descriptor, count: Int(size), to: &response) else {
                    closeDescriptor(descriptor)
                    return false
                }
            }
            if isGet, !inline {
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
                let region = FileRegion(fileHandle: handle, readerIndex: 0, endIndex: Int(size))
                context.write(wrapOutboundOut(.byteBuffer(response)), promise: nil)
                let sent = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(.fileRegion(region)), promise: sent)
                sent.futureResult.assumeIsolated().whenComplete { _ in try? handle.close() }
            } else {
                closeDescriptor(descriptor)
                context.writeAndFlush(wrapOutboundOut(.byteBuffer(response)), promise: nil)
            }
            lastAnswered = started
            let elapsed = NIODeadline.now() - started
            if fastPath.logsAccess {
                let userAgent = head.userAgent.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
                logAnswer(context, target, uri: uri, userAgent: userAgent, size: size, elapsed: elapsed) { message in
                    response.withUnsafeReadableBytes { written in
                        fastPath.logAccess(
                            message: message, repo: target.repo,
                            requestID: UnsafeRawBufferPointer(rebasing: written[requestID]))
                    }
                }
            }
            tally(context, get: isGet, seconds: Double(elapsed.nanoseconds) / 1e9)
            return true
        }
    }

    /// Whether an `Authorization` value lets the fast path answer: the last one accepted on this connection while it
    /// has not expired (a client sends the same token with every request), else `RepoFastPath.acceptedExpiry`.
    private func authorized(_ value: UnsafeRawBufferPointer) -> Bool {
        let now = Int64(time(nil))
        if let accepted = acceptedToken, accepted.expiry >= now, accepted.value.count == value.count,
            let theirs = value.baseAddress,
            accepted.value.withUnsafeBytes({ ours in ours.baseAddress.map { memcmp($0, theirs, value.count) } }) == 0
        {
            return true
        }
        guard let expiry = fastPath.acceptedExpiry(String(decoding: value, as: UTF8.self)), expiry >= now else {
            return false
        }
        acceptedToken = (Array(value), expiry)
        return true
    }

    /// Writes the router's access-log message for an answer into the connection's scratch buffer and hands it on.
    private func logAnswer(
        _ context: ChannelHandlerContext, _ target: RepoFastPath.Target, uri: UnsafeRawBufferPointer,
        userAgent: UnsafeRawBufferPointer?, size: Int64, elapsed: TimeAmount,
        _ write: (UnsafeRawBufferPointer) -> Void
    ) {
        // Taken out of `scratch`, so that the buffer is not shared and keeps its memory. It starts with the
        // client's address, written once per connection (no string of it retained per answer: with hundreds of
        // connections, their objects are cold in the cache).
        let first = scratch == nil
        var line = scratch ?? allocator.buffer(capacity: 256)
        scratch = nil
        if first {
            remoteLength = line.writeString(context.channel.remoteAddress?.description ?? "-")
        } else {
            line.moveWriterIndex(to: line.readerIndex + remoteLength)
        }
        let bound = 96 + uri.count + (userAgent?.count ?? 0)
        let written = line.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory -> Int in
            var cursor = ByteCursor(memory)
            cursor.write(target.method == .get ? " \"GET " : " \"HEAD ")
            cursor.write(uri)
            cursor.write(" HTTP/1.1\" 200 ")
            cursor.writeDecimal(target.method == .get ? UInt64(clamping: size) : 0)
            cursor.write(byte: UInt8(ascii: " "))
            if let userAgent { cursor.write(userAgent) } else { cursor.write(byte: UInt8(ascii: "-")) }
            cursor.write(byte: UInt8(ascii: " "))
            // `AccessLogMiddleware.seconds`: whole seconds, a dot, six digits of microseconds.
            let micros = UInt64(clamping: elapsed.nanoseconds / 1000)
            cursor.writeDecimal(micros / 1_000_000)
            cursor.write(byte: UInt8(ascii: "."))
            cursor.writePadded(micros % 1_000_000, digits: 6)
            return cursor.overflowed ? 0 : cursor.count
        }
        if written > 0 { line.withUnsafeReadableBytes { write($0) } }
        scratch = line
    }

    /// Counts an answer for `/metrics`; the connection's answers are added every 256, a second after the first of a
    /// batch, and when the connection ends.
    private func tally(_ context: ChannelHandlerContext, get: Bool, seconds: Double) {
        guard fastPath.metrics != nil else { return }
        let first = answers.count == 0
        answers.answered(get: get, seconds: seconds)
        if answers.count >= 256 {
            countAnswers()
        } else if first {
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { self.countAnswers() }
        }
    }

    /// Writes the status line and the router's headers for a whole file; returns where the request id is, nil
    /// (and nothing written) when the head did not fit the room reserved for it, which its bound rules out.
    private func writeHead(into buffer: inout ByteBuffer, identity: FileIdentity, name: UnsafeRawBufferPointer)
        -> Range<Int>?
    {
        let type = FileContentType.known(name)
        let bound =
            256 + FileIdentity.eTagCapacity + 2 * HTTPDate.length + 20 + 32 + (type?.utf8.count ?? 0) + name.count
        let start = buffer.writerIndex
        var idStart = 0
        var idEnd = 0
        let written = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory -> Int in
            var cursor = ByteCursor(memory)
            cursor.write("HTTP/1.1 200 OK\r\nETag: ")
            identity.writeETag(into: &cursor)
            cursor.write("\r\nLast-Modified: ")
            HTTPDate.write(secondsSinceEpoch: identity.modifiedSeconds, into: &cursor)
            cursor.write("\r\nAccept-Ranges: bytes\r\nContent-Type: ")
            if let type {
                cursor.write(type)
                cursor.write("\r\nContent-Disposition: ")
                cursor.write(FileContentType.isInline(type) ? "inline; filename=\"" : "attachment; filename=\"")
            } else {
                cursor.write("application/octet-stream\r\nContent-Disposition: attachment; filename=\"")
            }
            cursor.write(name)
            cursor.write("\"\r\nContent-Length: ")
            cursor.writeDecimal(UInt64(clamping: identity.size))
            cursor.write("\r\nX-Request-ID: ")
            idStart = cursor.count
            requestIDs.write(into: &cursor)
            idEnd = cursor.count
            cursor.write("\r\nDate: ")
            HTTPDate.write(secondsSinceEpoch: time(nil), into: &cursor)
            cursor.write("\r\nServer: flat-manager\r\n\r\n")
            return cursor.overflowed ? 0 : cursor.count
        }
        guard written > 0 else { return nil }
        return (start + idStart)..<(start + idEnd)
    }
}

/// Tells `RepoWireHandler` when the router's response to a request it handed on has ended. It sits behind the
/// decoder (where responses are still HTTP parts) and leaves the pipeline at a websocket upgrade.
final class RepoWireRouterWatch: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let wire: RepoWireHandler

    init(wire: RepoWireHandler) {
        self.wire = wire
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), head.headers.contains(name: "upgrade") {
            // After an upgrade the pipeline carries other things than HTTP parts.
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ended: Bool
        if case .end = unwrapOutboundIn(data) { ended = true } else { ended = false }
        context.write(data, promise: promise)
        if ended { wire.routerAnswered() }
    }
}

/// Request ids for fast answers in the router's format: a random process part, then a counter, each 16 hex digits
/// (the router's process part drops leading zeros; this one keeps them, so an id is always 32 digits).
///
/// A connection takes the counter's values in blocks (`block`), so that the event loops do not increment one shared
/// atomic (one cache line bounced between the cores) for every answer; ids stay unique, not in order.
struct WireRequestID {
    private static let process = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))
    static let block: UInt64 = 256

    private let high = Self.process
    private var next: UInt64 = 0
    private var left: UInt64 = 0

    mutating func write(into cursor: inout ByteCursor) {
        if left == 0 {
            next = Self.counter.wrappingAdd(Self.block, ordering: .relaxed).oldValue
            left = Self.block
        }
        let low = next
        next &+= 1
        left -= 1
        cursor.writeHex(high, digits: 16)
        cursor.writeHex(low, digits: 16)
    }
}

extension FileIdentity {
    /// Writes `eTag` at `cursor`.
    func writeETag(into cursor: inout ByteCursor) {
        cursor.write(byte: UInt8(ascii: "\""))
        cursor.writeHex(UInt64(bitPattern: size))
        cursor.write(byte: UInt8(ascii: "-"))
        cursor.writeHex(UInt64(bitPattern: Int64(modifiedSeconds)))
        cursor.write(byte: UInt8(ascii: "-"))
        cursor.writeHex(UInt64(bitPattern: Int64(modifiedNanoseconds)))
        cursor.write(byte: UInt8(ascii: "-"))
        cursor.writeHex(UInt64(bitPattern: Int64(changedSeconds)))
        cursor.write(byte: UInt8(ascii: "-"))
        cursor.writeHex(UInt64(bitPattern: Int64(changedNanoseconds)))
        cursor.write(byte: UInt8(ascii: "\""))
    }

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
