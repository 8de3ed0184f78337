import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny scripted HTTP/1.1 server on 127.0.0.1 for running `flat-manager-client` against. Each route answers
/// with its scripted responses in turn (the last one repeats); every request is recorded. One connection at a time,
/// closed after each answer — enough for the client's sequential calls.
final class FakeServer: @unchecked Sendable {
    // @unchecked: `routes` and `requests` are only touched under `lock`; the socket is owned by the accept thread.

    /// One scripted answer.
    struct Response: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String

        static func json(_ body: String, status: Int = 200, headers: [String: String] = [:]) -> Response {
            Response(status: status, headers: headers.merging(["Content-Type": "application/json"]) { $1 }, body: body)
        }
    }

    /// One request as received.
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: Data
    }

    private let lock = NSLock()
    private var routes: [String: [Response]] = [:]
    private var recorded: [Request] = []
    private let socketFD: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        socketFD = fd
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Scripts the answers for `method path` (path without query).
    func on(_ method: String, _ path: String, _ responses: Response...) {
        lock.withLock { routes[method + " " + path] = responses }
    }

    var requests: [Request] { lock.withLock { recorded } }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }

    private func acceptLoop() {
        while true {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else { return }
            if let request = read(from: client) {
                write(answer(to: request), to: client)
            }
            close(client)
        }
    }

    private func answer(to request: Request) -> Response {
        lock.withLock {
            recorded.append(request)
            let key = request.method + " " + request.path
            guard var scripted = routes[key], let first = scripted.first else {
                return Response.json(#"{"status":404,"error-type":"not-found","message":"No route"}"#, status: 404)
            }
            if scripted.count > 1 {
                scripted.removeFirst()
                routes[key] = scripted
            }
            return first
        }
    }

    private func read(from client: Int32) -> Request? {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let separator = Data("\r\n\r\n".utf8)
        while data.range(of: separator) == nil {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            data.append(contentsOf: buffer[0..<count])
        }
        guard let end = data.range(of: separator) else { return nil }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ").map(String.init)
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Data(data[end.upperBound...])
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while body.count < length {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            body.append(contentsOf: buffer[0..<count])
        }
        let path = String(requestLine[1].split(separator: "?").first ?? "")
        return Request(method: requestLine[0], path: path, headers: headers, body: body)
    }

    private func write(_ response: Response, to client: Int32) {
        let body = Data(response.body.utf8)
        var head = "HTTP/1.1 \(response.status) Status\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        let bytes = Data((head + "\r\n").utf8) + body
        bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let count = send(client, raw.baseAddress.map { $0 + sent }, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard count > 0 else { return }
                sent += count
            }
        }
    }
}
