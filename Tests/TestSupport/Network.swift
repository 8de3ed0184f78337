import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A free TCP port on 127.0.0.1 for a test server, from 12000–19999: below Linux's ephemeral range (32768–60999),
/// so the outgoing connections of the many parallel tests (clients, curl, PostgreSQL pools) cannot take it between
/// the pick and the server's bind, which happened with kernel-chosen ports ("Address already in use"). Each port is
/// handed out once per test process, and only after a bind to it succeeded (nothing else listens there).
/// `scripts/with-postgres.sh` picks its port from 20000–31999.
package enum FreePort {
    #if canImport(Glibc)
        package static let streamSocket = Int32(SOCK_STREAM.rawValue)
    #else
        package static let streamSocket = SOCK_STREAM
    #endif

    package static func pick() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 12000..<20000)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if canBind(port: candidate) { return candidate }
        }
        throw TestSupportError.unexpected("no free port found in 12000-19999")
    }

    private static let handedOut = Mutex<Set<Int>>([])

    private static func canBind(port: Int) -> Bool {
        let descriptor = socket(AF_INET, FreePort.streamSocket, 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopbackAddress(port: UInt16(port))
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    package static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// A response as the tests look at it.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: [String: String]
    package var body: Data

    package init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package var text: String { String(decoding: body, as: UTF8.self) }

    /// The body decoded as the upstream error JSON, if it is one.
    package func errorBody() -> ErrorBodyShape? { try? JSONDecoder().decode(ErrorBodyShape.self, from: body) }
}

/// The upstream error JSON (api.md §2), decoded leniently so a test can say which member is wrong.
package struct ErrorBodyShape: Decodable, Sendable {
    package var status: Int
    package var errorType: String
    package var message: String

    package enum CodingKeys: String, CodingKey {
        case status
        case errorType = "error-type"
        case message
    }
}

/// Plain HTTP requests through URLSession, for the API and status checks.
package enum HTTP {
    package static func request(
        _ method: String, _ url: URL, token: String? = nil, body: Data? = nil, contentType: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPResponse {
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else {
            throw TestSupportError.unexpected("not an HTTP response from \(url)")
        }
        var headerFields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headerFields[name.lowercased()] = value }
        }
        return HTTPResponse(status: http.statusCode, headers: headerFields, body: data)
    }

    /// POSTs a JSON-encodable value.
    package static func postJSON(_ url: URL, _ value: some Encodable, token: String?) async throws -> HTTPResponse {
        try await request("POST", url, token: token, body: JSONEncoder().encode(value), contentType: "application/json")
    }
}

/// A minimal HTTP/1.1 client over a raw socket that sends the request path byte for byte.
///
/// URLSession (libcurl on Linux) removes `..` segments before sending, which would hide exactly the path
/// traversal probes the tests want to make.
package enum RawHTTP {
    /// Sends `GET <rawPath>` to 127.0.0.1:`port` and returns the status and the whole raw response text.
    package static func get(port: Int, rawPath: String, headers: [String: String] = [:]) throws -> (
        status: Int, raw: String
    ) {
        let descriptor = try connectLoopback(port: port)
        defer { close(descriptor) }
        var request = "GET \(rawPath) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try sendAll(descriptor, Array(request.utf8))
        let raw = String(decoding: receiveAll(descriptor), as: UTF8.self)
        return (statusCode(of: raw), raw)
    }

    /// A socket connected to 127.0.0.1:`port` whose reads time out after 30 s; the caller closes it.
    package static func connectLoopback(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, FreePort.streamSocket, 0)
        guard descriptor >= 0 else { throw TestSupportError.unexpected("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = FreePort.loopbackAddress(port: UInt16(port))
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestSupportError.unexpected("connect() failed: errno \(errno)")
        }
        return descriptor
    }

    package static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw TestSupportError.unexpected("send() failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Everything the peer sends until it closes the connection (or the read times out).
    package static func receiveAll(_ descriptor: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return received
    }

    /// The status code of `HTTP/1.1 404 Not Found`, or 0 when there is no status line.
    package static func statusCode(of raw: String) -> Int {
        let statusLine = raw.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else { return 0 }
        return code
    }
}
