import Logging
import NIOCore
import NIOHTTP1

/// Closes HTTP/1 connections whose client keeps the server waiting (`http-header-timeout-secs`,
/// `http-idle-timeout-secs`).
///
/// Hummingbird's own idle timeout starts only once the first request head has been parsed, so a client that
/// opens a connection and trickles its headers (or sends nothing) would hold it forever; and nothing bounds a
/// request body that stops arriving. This handler sits right after the HTTP decoder and knows three states:
/// waiting for a head (the header deadline runs from the moment the state was entered and is not extended by
/// bytes), reading a body (the idle deadline restarts with every body piece), and waiting for our own response
/// (no deadline: a long job-status poll or a download to a slow reader is the server's time, not the client's).
/// A websocket upgrade takes the handler out of the pipeline; worker connections have their own pings.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Which deadline applies now.
    enum Mode: Equatable {
        case header, idle, none
    }

    let headerTimeout: TimeAmount?
    let idleTimeout: TimeAmount?
    let logger: Logger
    private var mode = Mode.none
    private var timer: Scheduled<Void>?
    /// When `timer` fires, and the deadline the current mode has (nil: none).
    private var timerFires: NIODeadline?
    private var deadline: NIODeadline?
    private var readingRequest = false
    private var requestsStarted = 0
    private var responsesEnded = 0

    /// The wire-level fast path in front of the decoder, whose answers this handler never sees: the header deadline
    /// also runs from its last answer.
    let wire: RepoWireHandler?

    /// `nil` or zero seconds switch a deadline off.
    init(headerTimeoutSeconds: Int, idleTimeoutSeconds: Int, wire: RepoWireHandler? = nil, logger: Logger) {
        headerTimeout = headerTimeoutSeconds > 0 ? .seconds(Int64(headerTimeoutSeconds)) : nil
        idleTimeout = idleTimeoutSeconds > 0 ? .seconds(Int64(idleTimeoutSeconds)) : nil
        self.wire = wire
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { update(context, activity: false) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        update(context, activity: false)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.headers.contains(name: "upgrade") {
                // After an upgrade the pipeline carries websocket frames, which this handler must not see.
                cancelTimer()
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            readingRequest = true
            requestsStarted += 1
        case .body:
            break
        case .end:
            readingRequest = false
        }
        update(context, activity: true)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            responsesEnded += 1
            update(context, activity: false)
        }
        context.write(data, promise: promise)
    }

    /// Re-evaluates the deadline: the idle one restarts on every piece read, the header one only when entered.
    ///
    /// The deadline moves with every request, the timer does not: a timer that fires before the current deadline
    /// re-arms itself for it, so a busy keep-alive connection costs no timer scheduling and cancelling per request.
    private func update(_ context: ChannelHandlerContext, activity: Bool) {
        let wanted: Mode = readingRequest ? .idle : (responsesEnded >= requestsStarted ? .header : .none)
        guard wanted != mode || (wanted == .idle && activity) else { return }
        mode = wanted
        let timeout: TimeAmount?
        switch wanted {
        case .header: timeout = headerTimeout
        case .idle: timeout = idleTimeout
        case .none: timeout = nil
        }
        guard let timeout else {
            deadline = nil  // A running timer finds no deadline and stops.
            return
        }
        let newDeadline = context.eventLoop.now + timeout
        deadline = newDeadline
        if let fires = timerFires, fires <= newDeadline { return }
        cancelTimer()
        arm(context, at: newDeadline)
    }

    private func arm(_ context: ChannelHandlerContext, at time: NIODeadline) {
        timerFires = time
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: time) { [self] in
            timer = nil
            timerFires = nil
            guard var deadline else { return }
            if mode == .header, let headerTimeout, let answered = wire?.lastAnswered,
                answered + headerTimeout > deadline
            {
                deadline = answered + headerTimeout
                self.deadline = deadline
            }
            if deadline > context.eventLoop.now {
                arm(context, at: deadline)
                return
            }
            logger.debug(
                "Closing a connection that kept the server waiting",
                metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "?")", "waiting-for": "\(mode)"])
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerFires = nil
    }
}
