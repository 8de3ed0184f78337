import FlatManagerCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The event-loop fast path for plain `/repo` files (`RepoFastPathHandler`, issue #13), against the real server: it
/// gives the router's answer byte for byte, logs and counts like the router, keeps pipelined answers in order, leaves
/// to the router everything it must decide, and does not hold up a graceful shutdown.
@Suite("Repo fast path in the server", .enabled(if: TestEnvironment.hasOSTree), .serialized)
struct RepoFastPathServerTests {
    /// Sizes on both sides of the inline limit (64 KiB: read at once) and of `sendfile` pieces, and an empty file.
    static let sizes = ["empty": 0, "small": 1000, "middle": 100_000, "large": 3_000_000]

    static func writeObjects(_ server: TestServer) throws -> [String: [UInt8]] {
        var random = SeededRandom(seed: 13)
        var contents: [String: [UInt8]] = [:]
        let directory = server.repoPath.appendingPathComponent("objects/ab")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, size) in sizes {
            let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try Data(bytes).write(to: directory.appendingPathComponent("\(name).filez"))
            contents[name] = bytes
        }
        return contents
    }

    @Test("GET and HEAD of plain files: the router's headers and bytes (a query string takes the router's path)")
    func sameAnswerAsRouter() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let fastBefore = try await Self.metric(server, Self.fastName)

        for (name, bytes) in contents.sorted(by: { $0.key < $1.key }) {
            for method in ["GET", "HEAD"] {
                let path = "/repo/stable/objects/ab/\(name).filez"
                let fast = try RawExchange.run(port: server.port, [RawExchange.request(method, path)])
                let routed = try RawExchange.run(port: server.port, [RawExchange.request(method, path + "?via=router")])
                #expect(fast.count == 1 && routed.count == 1, "\(name) \(method)")
                guard let fast = fast.first, let routed = routed.first else { continue }
                #expect(fast.status == 200 && routed.status == 200, "\(name) \(method)")
                #expect(fast.body == (method == "GET" ? bytes : []), "\(name) \(method)")
                #expect(routed.body == fast.body, "\(name) \(method)")
                let compared = [
                    "etag", "last-modified", "accept-ranges", "content-type", "content-disposition", "content-length",
                    "server",
                ]
                for header in compared {
                    #expect(fast.headers[header] != nil, "\(name) \(method) \(header)")
                    #expect(fast.headers[header] == routed.headers[header], "\(name) \(method) \(header)")
                }
                #expect(fast.headers["content-length"] == String(bytes.count))
                #expect(fast.headers["x-request-id"]?.count == 32 && fast.headers["date"] != nil)
                #expect(fast.headers["content-encoding"] == nil)
            }
        }
        // Each plain request was answered by the fast path, none with a query string was.
        try await Self.expectMetric(server, Self.fastName, fastBefore + 2 * contents.count)
        await server.stop()
    }

    @Test("a fast answer has its access-log line (with its request id) and is counted on /metrics")
    func logsAndMetrics() async throws {
        let server = try await TestServer(database: .sqlite)
        _ = try Self.writeObjects(server)
        let before = try await Self.metric(server, Self.repoName)
        let fastBefore = try await Self.metric(server, Self.fastName)

        let answers = try RawExchange.run(
            port: server.port,
            (0..<5).map { _ in RawExchange.request("GET", "/repo/stable/objects/ab/small.filez") })

        #expect(answers.map(\.status) == [200, 200, 200, 200, 200])
        // Both counts are added when the connection ends, which the server sees a moment after the client.
        try await Self.expectMetric(server, Self.repoName, before + 5)
        try await Self.expectMetric(server, Self.fastName, fastBefore + 5)
        try await waitUntil("the access log has the five lines") {
            let output = await server.output()
            return answers.allSatisfy { answer in
                guard let id = answer.headers["x-request-id"] else { return false }
                return output.split(separator: "\n").contains { line in
                    line.contains("request_id=\(id)") && line.contains("repo=stable")
                        && line.contains("\"GET /repo/stable/objects/ab/small.filez HTTP/1.1\" 200 1000 ")
                }
            }
        }
        // Every line starts its message with the client's address (written once per connection, then kept): the
        // same on all five, and the address the connection came from.
        let output = await server.output()
        let peers = output.split(separator: "\n").compactMap { line -> Substring? in
            guard line.contains("\"GET /repo/stable/objects/ab/small.filez "),
                let source = line.range(of: "] "), let get = line.range(of: " \"GET ")
            else { return nil }
            return line[source.upperBound..<get.lowerBound]
        }
        #expect(peers.count == 5 && Set(peers).count == 1, "\(peers)")
        #expect(peers.first?.contains("127.0.0.1") == true, "\(peers)")
        await server.stop()
    }

    @Test("pipelined requests are answered in order when the router answers some of them")
    func pipelinedOrder() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let requests = [
            RawExchange.request("GET", "/repo/stable/objects/ab/small.filez"),
            RawExchange.request("GET", "/repo/stable/objects/ab/missing.filez"),
            RawExchange.request("GET", "/repo/stable/objects/ab/large.filez"),
            RawExchange.request("GET", "/status"),
            RawExchange.request("GET", "/repo/stable/objects/ab/middle.filez"),
            RawExchange.request("GET", "/repo/stable/objects/ab/small.filez", headers: ["Range": "bytes=0-9"]),
            RawExchange.request("HEAD", "/repo/stable/objects/ab/small.filez"),
        ]

        let answers = try RawExchange.run(port: server.port, requests)

        #expect(answers.map(\.status) == [200, 404, 200, 200, 200, 206, 200])
        guard answers.count == 7 else { return }
        #expect(answers[0].body == contents["small"])
        #expect(answers[2].body == contents["large"])
        #expect(answers[4].body == contents["middle"])
        #expect(answers[5].body == Array(contents["small", default: []].prefix(10)))
        #expect(answers[6].body.isEmpty && answers[6].headers["content-length"] == "1000")
        await server.stop()
    }

    @Test("tokens: a bad one gets the router's 401, a good one is served, HTTP/1.0 and symlinks take the router's path")
    func handedOn() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let path = "/repo/stable/objects/ab/small.filez"
        let fastBefore = try await Self.metric(server, Self.fastName)
        symlink("small.filez", server.repoPath.path + "/objects/ab/alias.filez")

        // One connection each, in turn: pipelined behind a request the router answers, they would all go to the router.
        var answers: [RawExchange.Answer] = []
        for request in [
            RawExchange.request("GET", path, headers: ["Authorization": "Bearer not-a-token"]),
            RawExchange.request("GET", path, headers: ["Authorization": "Bearer \(server.adminToken)"]),
            RawExchange.request("GET", path, headers: ["Authorization": "Bearer \(server.adminToken)"]),
            RawExchange.request("GET", "/repo/stable/objects/ab/alias.filez"),
            RawExchange.request("GET", "/repo/stable/objects/ab/.hidden"),
            RawExchange.request("GET", "/repo/none/config"),
        ] {
            answers += try RawExchange.run(port: server.port, [request])
        }
        let old = try RawExchange.run(port: server.port, [RawExchange.request("GET", path, version: "HTTP/1.0")])

        #expect(answers.map(\.status) == [401, 200, 200, 200, 400, 400])
        #expect(answers.count == 6 && answers[2].body == contents["small"] && answers[3].body == contents["small"])
        #expect(old.map(\.status) == [200] && old.first?.body == contents["small"])
        // Only the third request (a token the router verified just before) was the fast path's.
        try await Self.expectMetric(server, Self.fastName, fastBefore + 1)
        await server.stop()
    }

    @Test("a token a connection was served with expires: its next request there gets the router's 401")
    func acceptedTokenExpiresOnItsConnection() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let path = "/repo/stable/objects/ab/small.filez"
        let expiry = Int64(Date().timeIntervalSince1970) + 3
        let token = try TestServer.signToken(
            Claims(sub: "build", exp: expiry, name: "short", scope: ["download"], prefixes: [""], repos: [""]))
        let request = RawExchange.request("GET", path, headers: ["Authorization": "Bearer \(token)"])
        let fastBefore = try await Self.metric(server, Self.fastName)

        // The router verifies it first; then a connection the fast path serves with it, until it expires.
        let verified = try RawExchange.run(port: server.port, [request])
        let descriptor = try RawHTTP.connectLoopback(port: server.port)
        defer { close(descriptor) }
        var reader = RawExchange.Reader(descriptor: descriptor)
        try RawHTTP.sendAll(descriptor, request)
        let served = try reader.response(method: "GET")
        // A second past the expiry second: the server reads the coarse clock (`time`), a few ms behind `Date()`.
        while Int64(Date().timeIntervalSince1970) <= expiry + 1 { try await Task.sleep(for: .milliseconds(200)) }
        try RawHTTP.sendAll(descriptor, request)
        let expired = try reader.response(method: "GET")

        #expect(verified.map(\.status) == [200])
        #expect(served.status == 200 && served.body == contents["small"])
        #expect(expired.status == 401, "\(String(decoding: expired.body, as: UTF8.self))")
        try await Self.expectMetric(server, Self.fastName, fastBefore + 1)
        await server.stop()
    }

    @Test("a real ostree pull reuses its connections (its curl asks for h2c on each new one; before, each closed)")
    func ostreePullReusesConnections() async throws {
        let server = try await TestServer(database: .sqlite)
        let ostree = try #require(TestEnvironment.executable(named: "ostree"))
        let directory = try TempDirectory(prefix: "fm-fast-pull")
        let tree = directory.appending("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var random = SeededRandom(seed: 7)
        for index in 0..<120 {
            let bytes = (0..<1500).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try Data(bytes).write(to: tree.appendingPathComponent("file\(index)"))
        }
        let ref = "app/org.test.Pull/x86_64/stable"
        try await ProcessRunner.check(
            ostree, ["commit", "--repo=\(server.repoPath.path)", "--branch=\(ref)", tree.path])
        try await ProcessRunner.check(ostree, ["summary", "-u", "--repo=\(server.repoPath.path)"])
        let client = directory.appending("client")
        try await ProcessRunner.check(ostree, ["init", "--mode=bare-user", "--repo=\(client.path)"])
        try await ProcessRunner.check(
            ostree,
            [
                "remote", "add", "--repo=\(client.path)", "--no-gpg-verify", "origin",
                server.url("/repo/stable").absoluteString,
            ])

        try await ProcessRunner.check(ostree, ["pull", "--repo=\(client.path)", "origin", ref])
        let fsck = try await ProcessRunner.run(ostree, ["fsck", "--repo=\(client.path)"])
        await server.stop()

        // The access log's lines of the pull: "<peer> "GET /repo/stable/..." — one peer per connection.
        let output = await server.output()
        let lines = output.split(separator: "\n").filter { $0.contains("\"GET /repo/stable/") }
        let peers = Set(
            lines.compactMap { line -> Substring? in
                guard let quote = line.firstIndex(of: "\"") else { return nil }
                return line[..<quote].split(separator: " ").last
            })
        #expect(fsck.succeeded, "\(fsck.stderr)")
        #expect(lines.count > 120, "\(lines.count) requests")
        #expect(peers.count * 3 < lines.count, "\(peers.count) connections for \(lines.count) requests")
    }

    @Test("a client that pipelines requests without reading the answers does not make the server hold them all")
    func pipelinedWithoutReadingIsBounded() async throws {
        let server = try await TestServer(database: .sqlite)
        _ = try Self.writeObjects(server)
        // Read into memory (below the inline limit): 2,500 answers of 60 KB are 150 MB if the server held them.
        let body = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(body).write(to: server.repoPath.appendingPathComponent("objects/ab/inline.filez"))
        let pid = try #require(await server.processIdentifier)
        let count = 2500
        let request = RawExchange.request("GET", "/repo/stable/objects/ab/inline.filez")
        let descriptor = try RawHTTP.connectLoopback(port: server.port)
        defer { close(descriptor) }
        let before = try Self.residentKiB(pid)

        // Send everything (a writer task: the server stops reading when it cannot write), read nothing for a while.
        let requests = Array(repeating: request, count: count).flatMap { $0 }
        let sender = Task.detached { try RawHTTP.sendAll(descriptor, requests) }
        try await Task.sleep(for: .seconds(2))
        let held = try Self.residentKiB(pid)
        var reader = RawExchange.Reader(descriptor: descriptor)
        var answered = 0
        for _ in 0..<count {
            let answer = try reader.response(method: "GET")
            if answer.status == 200 && answer.body == body { answered += 1 }
        }
        try await sender.value

        #expect(answered == count)
        #expect(held - before < 60_000, "the server grew by \(held - before) KiB while the client did not read")
        await server.stop()
    }

    /// The resident set size of a process, in KiB.
    static func residentKiB(_ pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    }

    @Test("SIGTERM closes a keep-alive connection that only fast answers used, without waiting for the bound")
    func gracefulShutdown() async throws {
        let server = try await TestServer(database: .sqlite)
        _ = try Self.writeObjects(server)
        let descriptor = try RawHTTP.connectLoopback(port: server.port)
        defer { close(descriptor) }
        try RawHTTP.sendAll(descriptor, RawExchange.request("GET", "/repo/stable/objects/ab/small.filez"))
        var reader = RawExchange.Reader(descriptor: descriptor)
        let first = try reader.response(method: "GET")
        #expect(first.status == 200)

        let status = await server.stop()

        let closed = reader.atEnd()
        #expect(status == 0)
        #expect(closed, "the server closed the idle connection")
        let output = await server.output()
        #expect(!output.contains("closing the HTTP connections still open"), "\(output.suffix(2000))")
        // Connections only the fast path answered end without an error line from the upgrade handler.
        #expect(!output.contains("Error handling upgrade result"), "\(output.suffix(2000))")
    }

    @Test("an h2c upgrade request (libostree's curl) is answered, fast or by the router, and the connection stays open")
    func h2cUpgradeKeepsTheConnection() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let upgrade = [
            "Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA",
        ]
        let fastBefore = try await Self.metric(server, Self.fastName)
        let object = "/repo/stable/objects/ab/small.filez"

        // One connection each time, with the upgrade on the first request as curl sends it, then plain requests.
        let fastFirst = try RawExchange.run(
            port: server.port,
            [RawExchange.request("GET", object, headers: upgrade), RawExchange.request("GET", "/status")],
            thenIdle: true)
        let routerFirst = try RawExchange.run(
            port: server.port,
            [RawExchange.request("GET", "/status", headers: upgrade), RawExchange.request("GET", object)],
            thenIdle: true)

        #expect(fastFirst.answers.map(\.status) == [200, 200])
        #expect(routerFirst.answers.map(\.status) == [200, 200])
        #expect(
            fastFirst.answers.first?.body == contents["small"] && routerFirst.answers.last?.body == contents["small"])
        for answer in fastFirst.answers + routerFirst.answers {
            #expect(answer.headers["connection"] == nil && answer.headers["upgrade"] == nil, "\(answer.headers)")
        }
        #expect(fastFirst.openAfterwards && routerFirst.openAfterwards, "the connections were kept alive")
        try await Self.expectMetric(server, Self.fastName, fastBefore + 2)
        await server.stop()
    }

    @Test("a head that arrives a few bytes at a time is answered once it is whole")
    func headInPieces() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let descriptor = try RawHTTP.connectLoopback(port: server.port)
        defer { close(descriptor) }
        let request = RawExchange.request("GET", "/repo/stable/objects/ab/small.filez")

        for start in stride(from: 0, to: request.count, by: 7) {
            try RawHTTP.sendAll(descriptor, Array(request[start..<min(start + 7, request.count)]))
            try await Task.sleep(for: .milliseconds(5))
        }
        var reader = RawExchange.Reader(descriptor: descriptor)
        let answer = try reader.response(method: "GET")

        #expect(answer.status == 200 && answer.body == contents["small"])
        await server.stop()
    }

    @Test("fast answers keep a connection past the header timeout; a head left unfinished after them is cut off")
    func headerTimeoutAfterFastAnswers() async throws {
        let server = try await Management.server(database: .sqlite) { $0["http-header-timeout-secs"] = 2 }
        _ = try Self.writeObjects(server)
        let descriptor = try RawHTTP.connectLoopback(port: server.port)
        defer { close(descriptor) }
        var reader = RawExchange.Reader(descriptor: descriptor)
        let request = RawExchange.request("GET", "/repo/stable/objects/ab/small.filez")

        // 4 s of requests every 0.4 s: twice the header timeout, never more than a fifth of it between answers.
        var statuses: [Int] = []
        for _ in 0..<10 {
            try RawHTTP.sendAll(descriptor, request)
            statuses.append(try reader.response(method: "GET").status)
            try await Task.sleep(for: .milliseconds(400))
        }
        try RawHTTP.sendAll(descriptor, Array("GET /repo/stable/config HTTP/1.1\r\nHost: x\r\n".utf8))
        let closedAfter = try SecurityLimitsTests.secondsUntilClosed(descriptor, trickle: nil, limit: 15)

        #expect(statuses == Array(repeating: 200, count: 10))
        #expect(closedAfter != nil, "a connection with an unfinished head stayed open")
        #expect((closedAfter ?? 0) > 1, "closed after \(closedAfter ?? 0) s, before the timeout")
        await server.stop()
    }

    @Test("an upload on a connection the fast path served first goes to the router, and so does what follows")
    func uploadAfterFastAnswers() async throws {
        let server = try await TestServer(database: .sqlite)
        let contents = try Self.writeObjects(server)
        let object = "/repo/stable/objects/ab/small.filez"
        let body = Array(#"{"repo": "stable"}"#.utf8)
        var create = RawExchange.request(
            "POST", "/api/v1/build",
            headers: [
                "Authorization": "Bearer \(server.adminToken)", "Content-Type": "application/json",
                "Content-Length": "\(body.count)",
            ])
        create += body

        let answers = try RawExchange.run(
            port: server.port,
            [RawExchange.request("GET", object), create, RawExchange.request("GET", object)])

        #expect(answers.map(\.status) == [200, 200, 200])
        #expect(answers.first?.body == contents["small"] && answers.last?.body == contents["small"])
        let created = answers.count == 3 ? String(decoding: answers[1].body, as: UTF8.self) : ""
        #expect(created.contains("\"repo\""), "\(created)")
        await server.stop()
    }

    static let repoName = "flat_manager_http_requests_total{method=\"GET\",route=\"/repo/**\",status=\"200\"}"
    static let fastName = "flat_manager_http_fast_path_responses_total"

    /// The value of one sample line of `/metrics` (0 when absent).
    static func metric(_ server: TestServer, _ name: String) async throws -> Int {
        let metrics = try await HTTP.request("GET", server.url("/metrics")).text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int(Double($0.dropFirst(name.count + 1)) ?? -1) } ?? 0
    }

    /// Waits for the sample to reach `expected` (the fast path adds its count when a connection ends), then checks
    /// that it is exactly that.
    static func expectMetric(_ server: TestServer, _ name: String, _ expected: Int) async throws {
        try? await waitUntil("\(name) reaches \(expected)", timeout: .seconds(20)) {
            try await metric(server, name) >= expected
        }
        #expect(try await metric(server, name) == expected, "\(name)")
    }
}

/// Several HTTP/1.1 requests written at once on one connection (pipelined), and their responses read back in order.
enum RawExchange {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    static func request(_ method: String, _ path: String, headers: [String: String] = [:], version: String = "HTTP/1.1")
        -> [UInt8]
    {
        var text = "\(method) \(path) \(version)\r\nHost: 127.0.0.1\r\nUser-Agent: fast-path-test\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Writes every request, then reads one response per request (by `Content-Length`).
    static func run(port: Int, _ requests: [[UInt8]]) throws -> [Answer] {
        let descriptor = try RawHTTP.connectLoopback(port: port)
        defer { close(descriptor) }
        try RawHTTP.sendAll(descriptor, requests.flatMap { $0 })
        var reader = Reader(descriptor: descriptor)
        return try requests.map { request in
            try reader.response(method: String(decoding: request.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
        }
    }

    /// `run`, then whether the server still holds the connection open a moment after the last answer.
    static func run(port: Int, _ requests: [[UInt8]], thenIdle: Bool) throws -> (
        answers: [Answer], openAfterwards: Bool
    ) {
        let descriptor = try RawHTTP.connectLoopback(port: port)
        defer { close(descriptor) }
        try RawHTTP.sendAll(descriptor, requests.flatMap { $0 })
        var reader = Reader(descriptor: descriptor)
        let answers = try requests.map { request in
            try reader.response(method: String(decoding: request.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
        }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let closed = poll(&poller, 1, 300) > 0 && reader.atEnd()
        return (answers, !closed)
    }

    struct Reader {
        let descriptor: Int32
        var buffer: [UInt8] = []

        init(descriptor: Int32) {
            self.descriptor = descriptor
        }

        mutating func fill() throws {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestSupportError.unexpected("connection ended in a response") }
            buffer += chunk[0..<count]
        }

        /// Whether the peer has closed the connection (nothing more to read).
        mutating func atEnd() -> Bool {
            var byte: UInt8 = 0
            return recv(descriptor, &byte, 1, 0) == 0
        }

        mutating func response(method: String) throws -> Answer {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            var end: Int?
            while end == nil {
                end = buffer.indices.dropLast(3).first { Array(buffer[$0..<$0 + 4]) == separator }
                if end == nil { try fill() }
            }
            guard let headEnd = end else { throw TestSupportError.unexpected("no head") }
            let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
            buffer.removeFirst(headEnd + 4)
            let lines = head.components(separatedBy: "\r\n")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
            let status = RawHTTP.statusCode(of: head)
            if method != "HEAD", headers["transfer-encoding"]?.lowercased() == "chunked" {
                return Answer(status: status, headers: headers, body: try chunkedBody())
            }
            let length = method == "HEAD" ? 0 : Int(headers["content-length"] ?? "0") ?? 0
            return Answer(status: status, headers: headers, body: try take(length))
        }

        mutating func take(_ count: Int) throws -> [UInt8] {
            while buffer.count < count { try fill() }
            let taken = Array(buffer[0..<count])
            buffer.removeFirst(count)
            return taken
        }

        mutating func line() throws -> String {
            while true {
                if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) {
                    let text = String(decoding: buffer[0..<end], as: UTF8.self)
                    buffer.removeFirst(end + 2)
                    return text
                }
                try fill()
            }
        }

        mutating func chunkedBody() throws -> [UInt8] {
            var body: [UInt8] = []
            while true {
                let size = try line().split(separator: ";").first.flatMap { Int($0, radix: 16) } ?? 0
                if size == 0 {
                    while try !line().isEmpty {}
                    return body
                }
                body += try take(size)
                _ = try line()
            }
        }
    }
}
