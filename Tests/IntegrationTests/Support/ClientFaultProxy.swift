import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 proxy on 127.0.0.1 between the client and a real server that misbehaves at random (seeded):
/// it resets connections before forwarding, answers 503 itself, or forwards and then loses or replaces the
/// server's answer — so the server acted but the client cannot know. Every request that reached the server is
/// recorded, to count non-idempotent ones.
///
/// One request per connection (the proxy answers with `Connection: close`); a thread per connection.
final class ClientFaultProxy: @unchecked Sendable {
    // @unchecked: the mutable state lives in `state` (a Mutex); the listening socket is owned by the accept thread.

    /// What can happen to a request.
    enum Fault: String, Sendable, CaseIterable {
        /// Connection closed before anything reaches the server.
        case resetBeforeForwarding
        /// `503` from the proxy; the server never sees the request.
        case serviceUnavailable
        /// Forwarded; the server's answer is dropped and the connection closed.
        case dropAnswer
        /// Forwarded; the client gets `502` instead of the server's answer.
        case replaceAnswerWith502
    }

    /// The probability of each fault per request; the rest are forwarded faithfully.
    struct Rates: Sendable {
        var resetBeforeForwarding = 0.08
        var serviceUnavailable = 0.08
        var dropAnswer = 0.06
        var replaceAnswerWith502 = 0.06
        /// Faults for the first request whose `METHOD path` ends with the key, whatever the dice say.
        var first: [String: Fault] = [:]
    }

    private struct State {
        var random: SeededRandom
        var forwarded: [String] = []
        var faults: [Fault: Int] = [:]
        var used: Set<String> = []
        var stopped = false
    }

    let port: Int
    private let upstreamPort: Int
    private let rates: Rates
    private let listener: Int32
    private let state: Mutex<State>

    init(upstreamPort: Int, seed: UInt64, rates: Rates = Rates()) throws {
        self.upstreamPort = upstreamPort
        self.rates = rates
        state = Mutex(State(random: SeededRandom(seed: seed)))
        let descriptor = socket(AF_INET, FreePort.streamSocket, 0)
        guard descriptor >= 0 else { throw TestSupportError.unexpected("socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = FreePort.loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 128) == 0 else {
            close(descriptor)
            throw TestSupportError.unexpected("bind/listen failed: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// `url` with the server's port replaced by the proxy's.
    func proxied(_ url: String) -> String {
        url.replacingOccurrences(of: "127.0.0.1:\(upstreamPort)", with: "127.0.0.1:\(port)")
    }

    /// `METHOD path` of every request that reached the server, in order.
    var forwarded: [String] { state.withLock { $0.forwarded } }

    /// How often each fault was injected.
    var injected: [Fault: Int] { state.withLock { $0.faults } }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
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

    private func drawFault(for request: Message) -> Fault? {
        let target = request.startLine.split(separator: " ").prefix(2).joined(separator: " ")
        return state.withLock { state in
            if let key = rates.first.keys.first(where: { target.hasSuffix($0) }), !state.used.contains(key),
                let fault = rates.first[key]
            {
                state.used.insert(key)
                state.faults[fault, default: 0] += 1
                return fault
            }
            let roll = state.random.nextUnit()
            var threshold = 0.0
            for (fault, rate) in [
                (Fault.resetBeforeForwarding, rates.resetBeforeForwarding),
                (.serviceUnavailable, rates.serviceUnavailable), (.dropAnswer, rates.dropAnswer),
                (.replaceAnswerWith502, rates.replaceAnswerWith502),
            ] {
                threshold += rate
                if roll < threshold {
                    state.faults[fault, default: 0] += 1
                    return fault
                }
            }
            return nil
        }
    }

    private func serve(_ connection: Int32) {
        guard let request = Self.readMessage(connection, isResponse: false) else { return }
        let fault = drawFault(for: request)
        switch fault {
        case .resetBeforeForwarding:
            Self.reset(connection)
            return
        case .serviceUnavailable:
            let body = #"{"status":503,"error-type":"proxy","message":"injected fault"}"#
            Self.sendAll(
                connection,
                Array(
                    ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8))
            return
        case .dropAnswer, .replaceAnswerWith502, nil:
            break
        }
        guard let answer = forward(request) else {
            Self.reset(connection)
            return
        }
        switch fault {
        case .dropAnswer:
            Self.reset(connection)
        case .replaceAnswerWith502:
            Self.sendAll(
                connection,
                Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        default:
            Self.sendAll(connection, answer)
        }
    }

    /// Sends the request to the server on a new connection and returns its answer with `Connection: close`.
    private func forward(_ request: Message) -> [UInt8]? {
        let upstream = socket(AF_INET, FreePort.streamSocket, 0)
        guard upstream >= 0 else { return nil }
        defer { close(upstream) }
        var address = FreePort.loopbackAddress(port: UInt16(upstreamPort))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        state.withLock { $0.forwarded.append(request.startLine.split(separator: " ").prefix(2).joined(separator: " ")) }
        Self.sendAll(upstream, request.withConnectionClose())
        return Self.readMessage(upstream, isResponse: true)?.withConnectionClose()
    }

    /// A request or response: start line, header lines, body.
    struct Message {
        var startLine: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// The bytes to send, with any `Connection` header replaced by `Connection: close`.
        func withConnectionClose() -> [UInt8] {
            var head = startLine + "\r\n"
            for (name, value) in headers where name.lowercased() != "connection" { head += "\(name): \(value)\r\n" }
            head += "Connection: close\r\n\r\n"
            return Array(head.utf8) + body
        }
    }

    /// Reads one message: the head, then `Content-Length` bytes (or, for a response without one, up to EOF).
    static func readMessage(_ descriptor: Int32, isResponse: Bool) -> Message? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int?
        while headEnd == nil {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            buffer += chunk[0..<count]
            headEnd = findHeadEnd(buffer)
        }
        guard let headEnd else { return nil }
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let startLine = lines.removeFirst()
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(buffer[(headEnd + 4)...])
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) }
        while length.map({ body.count < $0 }) ?? isResponse {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            body += chunk[0..<count]
        }
        if let length, body.count < length { return nil }
        return Message(startLine: startLine, headers: headers, body: body)
    }

    private static func findHeadEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// Closes with a TCP reset rather than an orderly FIN, like a crashed peer.
    static func reset(_ descriptor: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }
}
