import Dispatch
import FlatManagerCore
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Shutdown (issue #6, server.md §3.7): on SIGTERM the server stops accepting, lets the request it is handling
/// finish (within `shutdown-timeout-secs`), waits for the running job (within `job-shutdown-timeout-secs`), and
/// exits 0; SIGINT and SIGQUIT cut the requests off but still wait for the job. A job cut off by its bound is
/// broken by the next start, as after a crash.
@Suite("Shutdown", .enabled(if: TestEnvironment.hasOSTree))
struct OpsShutdownTests {
    @Test(
        "SIGTERM during a request and a commit job: the request is answered, the job ends, the exit status is 0",
        arguments: TestEnvironment.databases)
    func sigtermLetsTheRequestAndTheJobFinish(database: DatabaseKind) async throws {
        // Arrange: the commit job is held inside build-commit-from; a create-build request has sent its head and
        // half of its body, so that the server is handling it when the signal arrives.
        let gate = try GatedFlatpak()
        try await withTestServer(database: database, extraPath: [gate.directory.url]) { server in
            let client = try Client(token: server.adminToken)
            let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
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
    }

    @Test(
        "SIGTERM with a request body that never completes: the server closes it at the bound and exits 0",
        arguments: TestEnvironment.databases)
    func sigtermBoundsARequestThatNeverCompletes(database: DatabaseKind) async throws {
        // Arrange: a 2 s request bound; a create-build request whose body stops halfway and never goes on.
        try await withTestServer(database: database) { server in
            try await Self.restart(server, adding: ["shutdown-timeout-secs": 2])
            let request = try Self.halfSentCreateBuild(server)
            // The server has to have read the head before the signal, or the connection is idle and simply closed.
            try await Task.sleep(for: .seconds(2))

            // Act: stop() sends SIGTERM and kills the server only if it is still there 60 s later.
            let exitStatus = await server.stop()
            let reply = await request.receive()
            let log = await server.output()
            try await server.start()
            let answering = await server.isAnswering()

            // Assert
            #expect(exitStatus == 0, "the server did not exit by itself after SIGTERM")
            #expect(log.contains("in-flight requests get up to 2 s"))
            #expect(reply.closed, "the connection of the unfinished request was not closed")
            #expect(reply.status != 200, "\(reply.raw)")
            #expect(answering)
        }
    }

    @Test(
        "SIGINT or SIGQUIT cuts a request off at once, still lets the commit job end, and exits 0",
        arguments: TestEnvironment.databases, [SIGINT, SIGQUIT])
    func immediateStopCutsRequestsButWaitsForTheJob(database: DatabaseKind, signal: Int32) async throws {
        // Arrange: the commit job is held inside build-commit-from, and a create-build request is half sent.
        let gate = try GatedFlatpak()
        try await withTestServer(database: database, extraPath: [gate.directory.url]) { server in
            let buildURL = try await Self.startHeldCommit(server, gate)
            let request = try Self.halfSentCreateBuild(server)
            try await Task.sleep(for: .seconds(2))

            // Act: the reply comes while the job is still held, so the server closed the connection without
            // waiting for the request (with the default 30 s bound a graceful stop would wait for the body).
            let exited = ExitFlag()
            let stopping = Task {
                let status = await server.stop(signal: signal)
                exited.set()
                return status
            }
            let reply = await request.receive()
            let exitedBeforeTheReply = exited.isSet
            try gate.releaseCommit()
            let exitStatus = await stopping.value
            try await server.start()
            let job = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let committed = try await get(Build.self, buildURL, token: server.adminToken)

            // Assert
            #expect(reply.closed, "the connection of the unfinished request was not closed")
            #expect(!exitedBeforeTheReply, "the connection was only closed by the end of the process")
            #expect(reply.status != 200, "\(reply.raw)")
            #expect(exitStatus == 0)
            #expect(job.status == .ended, "\(job.log)")
            #expect(committed.repoState == .ready)
        }
    }

    @Test(
        "SIGTERM with a job that outlives its bound: exit 1, and with job-max-resumes 0 the next start breaks the job",
        arguments: TestEnvironment.databases)
    func sigtermBoundsARunningJob(database: DatabaseKind) async throws {
        // Arrange: a 2 s job bound and a commit job held inside build-commit-from.
        let gate = try GatedFlatpak()
        try await withTestServer(database: database, extraPath: [gate.directory.url]) { server in
            try await Self.restart(server, adding: ["job-shutdown-timeout-secs": 2, "job-max-resumes": 0])
            let buildURL = try await Self.startHeldCommit(server, gate)

            // Act
            let exitStatus = await server.stop()
            try await server.start()
            let job = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let build = try await get(Build.self, buildURL, token: server.adminToken)
            let log = await server.output()
            // The abandoned wrapper may go on; let it end now rather than after its own 120 s.
            try gate.releaseCommit()

            // Assert
            #expect(exitStatus == 1, "the server did not exit by itself at the job bound")
            #expect(log.contains("did not finish within job-shutdown-timeout-secs"))
            #expect(job.status == .broken, "\(job.log)")
            #expect(build.repoState == .failed)
            #expect(build.repoStateReason == "Server was restarted during job")
        }
    }

    @Test(
        "SIGTERM while update-repo waits for a hanging delta: the delta generator stops, the job ends, exit 0",
        arguments: TestEnvironment.databases)
    func sigtermStopsDeltaGeneration(database: DatabaseKind) async throws {
        // Arrange: local delta generation hangs far longer than any bound of the test (the job bound is 3600 s).
        let tools = try FakeTools()
        let marker = tools.directory.appending("generating")
        try tools.flatpak(deltaScript: #"touch "\#(marker.path)"; exec sleep 300"#)
        try await withTestServer(database: database, extraPath: [tools.url]) { server in
            try await server.reconfigure(stableRepo: DeltaTests.depthTwo)
            let client = try Client(token: server.adminToken)
            let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
            try await client.check(["commit", "--wait", buildURL])
            try await client.check(["publish", "--wait", buildURL])
            try await waitUntil("the delta generation to start", timeout: .seconds(120)) {
                FileManager.default.fileExists(atPath: marker.path)
            }

            // Act
            let exitStatus = await server.stop()
            let log = await server.output()
            try await server.start()
            let publish = try await get(Job.self, buildURL + "/publish", token: server.adminToken)
            let results = try JSONSerialization.jsonObject(with: Data((publish.results ?? "{}").utf8)) as? [String: Any]
            let updateID = try #require(results?["update-repo-job"] as? Int, "\(publish.results ?? "")")
            let update = try await get(
                Job.self, server.managerURL + "/api/v1/job/\(updateID)", token: server.adminToken)

            // Assert
            #expect(exitStatus == 0, "the server waited for the delta instead of stopping it")
            #expect(log.contains("Stopping delta generation"))
            #expect(update.status == .ended, "\(update.log)")
            #expect(update.log.contains("Delta generation stopped"), "\(update.log)")
            #expect(update.log.contains("Updating summary"))
        }
    }

    /// Stops the server, adds `keys` to its config file, and starts it again.
    static func restart(_ server: TestServer, adding keys: [String: Int]) async throws {
        await server.stop()
        let data = try Data(contentsOf: server.configPath)
        var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for (key, value) in keys { config[key] = value }
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: server.configPath)
        try await server.start()
    }

    /// Creates a build, pushes the fixture, requests its commit and waits until the commit job is held by `gate`.
    /// Returns the build URL.
    static func startHeldCommit(_ server: TestServer, _ gate: GatedFlatpak) async throws -> String {
        let client = try Client(token: server.adminToken)
        let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
        let commit = try await HTTP.postJSON(try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
        try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
        try await gate.waitUntilStarted()
        return buildURL
    }

    /// A create-build request that has sent its head and the first 8 bytes of its body, and never sends more.
    static func halfSentCreateBuild(_ server: TestServer) throws -> SlowRequest {
        let body = Array(#"{"repo":"stable"}"#.utf8)
        return try SlowRequest(
            port: server.port,
            head: "POST /api/v1/build HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n"
                + "Authorization: Bearer \(server.adminToken)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n",
            firstPart: Array(body.prefix(8)))
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

/// Set once, by the task that saw the server exit; read by the test.
final class ExitFlag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// An HTTP/1.1 request over a raw socket whose body is sent in two parts, so that a test can do something while
/// the server is in the middle of handling it. URLSession cannot hold a request half sent.
final class SlowRequest: Sendable {
    let descriptor: Int32

    /// Connects to 127.0.0.1:`port` and sends `head` and the first part of the body.
    init(port: Int, head: String, firstPart: [UInt8]) throws {
        descriptor = try RawHTTP.connectLoopback(port: port)
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try RawHTTP.sendAll(descriptor, Array(head.utf8) + firstPart)
    }

    deinit { close(descriptor) }

    /// Sends the rest of the body, then reads the response until the server closes the connection (on a thread of
    /// its own: the read blocks).
    func finish(sending rest: [UInt8]) async throws -> (status: Int, body: String, raw: String) {
        try RawHTTP.sendAll(descriptor, rest)
        let descriptor = self.descriptor
        let bytes = await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8], Never>) in
            DispatchQueue.global().async { continuation.resume(returning: RawHTTP.receiveAll(descriptor)) }
        }
        let raw = String(decoding: bytes, as: UTF8.self)
        let body = raw.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (RawHTTP.statusCode(of: raw), body, raw)
    }

    /// Reads without sending anything more, until the server closes the connection or 120 s pass; `closed` tells
    /// which (a reset counts as closed).
    func receive() async -> (status: Int, raw: String, closed: Bool) {
        let descriptor = self.descriptor
        let (bytes, closed) = await withCheckedContinuation {
            (continuation: CheckedContinuation<([UInt8], Bool), Never>) in
            DispatchQueue.global().async { continuation.resume(returning: Self.receiveUntilClosed(descriptor)) }
        }
        let raw = String(decoding: bytes, as: UTF8.self)
        return (RawHTTP.statusCode(of: raw), raw, closed)
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted.
    static func canConnect(port: Int) -> Bool {
        guard let descriptor = try? RawHTTP.connectLoopback(port: port) else { return false }
        close(descriptor)
        return true
    }

    private static func receiveUntilClosed(_ descriptor: Int32) -> ([UInt8], Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (received, true) }
            if count < 0 { return (received, errno == ECONNRESET) }
            received.append(contentsOf: buffer[0..<count])
        }
    }
}
