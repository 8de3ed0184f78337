import Crypto
import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A webhook receiver on 127.0.0.1: records every POST (headers and exact body bytes) and answers 500 to the first
/// `failFirst` requests, 200 after. It can be started on a port chosen before (so a server's config can name it
/// while nothing listens there yet) and stopped and started again on the same port.
///
/// One request per connection (`Connection: close`); a thread per connection, as `ClientFaultProxy`.
final class WebhookReceiver: @unchecked Sendable {
    // @unchecked: the mutable state lives in `state` (a Mutex); the listening socket is owned by the accept thread.

    /// One received request.
    struct Request: Sendable {
        /// Header names lower-cased.
        var headers: [String: String]
        var body: [UInt8]

        var event: String? { headers["x-flat-manager-event"] }
        var deliveryID: String? { headers["x-flat-manager-delivery"] }
        var signature: String? { headers["x-hub-signature-256"] }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

        /// Whether the signature header is the HMAC-SHA256 of the exact body with `secret` (computed here with
        /// swift-crypto, independently of the server's code).
        func isSigned(with secret: String) -> Bool {
            let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
            let hex = mac.map { String(format: "%02x", $0) }.joined()
            return signature == "sha256=" + hex
        }
    }

    private struct State {
        var received: [Request] = []
        var answered = 0
        var listener: Int32 = -1
    }

    let port: Int
    private let failFirst: Int
    private let state = Mutex(State())

    /// A receiver on a fresh port; `listening` false only reserves the port (call `start()` later).
    init(failFirst: Int = 0, listening: Bool = true) throws {
        port = try FreePort.pick()
        self.failFirst = failFirst
        if listening { try start() }
    }

    /// The URL to configure.
    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Every request received so far, in order.
    var received: [Request] { state.withLock { $0.received } }

    func start() throws {
        let descriptor = socket(AF_INET, FreePort.streamSocket, 0)
        guard descriptor >= 0 else { throw TestSupportError.unexpected("socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = FreePort.loopbackAddress(port: UInt16(port))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 128) == 0 else {
            close(descriptor)
            throw TestSupportError.unexpected("bind/listen on \(port) failed: errno \(errno)")
        }
        state.withLock { $0.listener = descriptor }
        let thread = Thread { [self] in acceptLoop(descriptor) }
        thread.start()
    }

    func stop() {
        let descriptor = state.withLock { state in
            defer { state.listener = -1 }
            return state.listener
        }
        guard descriptor >= 0 else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    deinit { stop() }

    /// Waits until `done` holds for the requests received, for at most `timeout`; returns them.
    func waitFor(
        timeout: Duration = .seconds(120), _ what: String, until done: ([Request]) -> Bool
    ) async throws -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let requests = received
            if done(requests) { return requests }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("webhook receiver: \(what); got \(requests.map { $0.event ?? "?" })")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        guard let message = ClientFaultProxy.readMessage(connection, isResponse: false) else { return }
        var headers: [String: String] = [:]
        for (name, value) in message.headers { headers[name.lowercased()] = value }
        let fails = state.withLock { state in
            state.received.append(Request(headers: headers, body: message.body))
            state.answered += 1
            return state.answered <= failFirst
        }
        let body = fails ? "receiver says no" : "ok"
        let status = fails ? "500 Internal Server Error" : "200 OK"
        ClientFaultProxy.sendAll(
            connection,
            Array(
                ("HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n" + body).utf8))
    }
}
