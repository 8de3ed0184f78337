import Dispatch
import FlatManagerCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Graceful shutdown (issue #6, server.md §3.7): on SIGTERM the server stops accepting, lets the request it is
/// handling finish, waits for the running job, and exits 0; the next start finds the job finished and goes on.
@Suite("Graceful shutdown", .enabled(if: TestSupport.hasOSTree))
struct OpsShutdownTests {
    @Test(
        "SIGTERM during a request and a commit job: the request is answered, the job ends, the exit status is 0",
        arguments: TestSupport.databases)
    func sigtermLetsTheRequestAndTheJobFinish(database: DatabaseKind) async throws {
        // Arrange: the commit job is held inside build-commit-from; a create-build request has sent its head and
        // half of its body, so that the server is handling it when the signal arrives.
        let gate = try GatedFlatpak()
        let server = try await TestServer(database: database, extraPath: [gate.directory.url])
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", buildURL, fixture.path])
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            try await gate.waitUntilStarted()
            let body = Array(#"{"repo":"stable"}"#.utf8)
            let request = try SlowRequest(
                port: server.port,
                head: "POST /api/v1/build HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n"
                    + "Authorization: Bearer \(server.adminToken)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n",
                firstPart: Array(body.prefix(8)))
            // The server has to have read the head before the signal, or the connection is idle and simply closed.
            try await Task.sleep(for: .seconds(2))

            // Act
            let stopping = Task { await server.stop() }
            let stoppedAccepting = await Self.waitUntilRefused(server)
            let answer = try await request.finish(sending: Array(body.dropFirst(8)))
            try gate.releaseCommit()
            let exitStatus = await stopping.value
            try await server.start()
            let job = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let committed = try await get(Build.self, buildURL, token: server.adminToken)
            let created = try JSONDecoder().decode(Build.self, from: Data(answer.body.utf8))
            let createdAfterRestart = try await get(
                Build.self, server.managerURL + "/api/v1/build/\(created.id)", token: server.adminToken)
            try await client.check(["publish", "--wait", "--wait-update", buildURL])
            let published = try await get(Build.self, buildURL, token: server.adminToken)

            // Assert
            #expect(stoppedAccepting, "the server still accepted connections after SIGTERM")
            #expect(answer.status == 200, "\(answer.raw)")
            #expect(created.repo == "stable")
            #expect(exitStatus == 0)
            #expect(job.status == .ended, "\(job.log)")
            #expect(committed.repoState == .ready)
            #expect(createdAfterRestart.id == created.id)
            #expect(published.publishedState == .published)
        }
        await server.stop()
    }

    /// Polls until a new connection is refused (the listener is closed); false if that does not happen in 60 s.
    static func waitUntilRefused(_ server: TestServer) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !SlowRequest.canConnect(port: server.port) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// An HTTP/1.1 request over a raw socket whose body is sent in two parts, so that a test can do something while
/// the server is in the middle of handling it. URLSession cannot hold a request half sent.
final class SlowRequest: Sendable {
    let descriptor: Int32

    /// Connects to 127.0.0.1:`port` and sends `head` and the first part of the body.
    init(port: Int, head: String, firstPart: [UInt8]) throws {
        descriptor = try Self.connect(port: port)
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try Self.sendAll(descriptor, Array(head.utf8) + firstPart)
    }

    deinit { close(descriptor) }

    /// Sends the rest of the body, then reads the response until the server closes the connection (on a thread of
    /// its own: the read blocks).
    func finish(sending rest: [UInt8]) async throws -> (status: Int, body: String, raw: String) {
        try Self.sendAll(descriptor, rest)
        let descriptor = self.descriptor
        let bytes = await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            DispatchQueue.global().async { continuation.resume(returning: Self.receiveAll(descriptor)) }
        }
        let raw = String(decoding: bytes, as: UTF8.self)
        let body = raw.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (RawHTTP.statusCode(of: raw), body, raw)
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted.
    static func canConnect(port: Int) -> Bool {
        guard let descriptor = try? connect(port: port) else { return false }
        close(descriptor)
        return true
    }

    private static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, FreePort.streamSocket, 0)
        guard descriptor >= 0 else { throw TestSupportError.unexpected("socket() failed: errno \(errno)") }
        var address = FreePort.loopbackAddress(port: UInt16(port))
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestSupportError.unexpected("connect() failed: errno \(errno)")
        }
        return descriptor
    }

    private static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw TestSupportError.unexpected("send() failed: errno \(errno)") }
            offset += sent
        }
    }

    private static func receiveAll(_ descriptor: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return received
    }
}
