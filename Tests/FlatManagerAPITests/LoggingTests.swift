import FlatManagerAPI
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import FlatManagerServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Log levels and the log sink")
struct LoggingTests {
    @Test(
        "RUST_LOG sets the server's and the access log's levels as env_logger would; FLAT_MANAGER_LOG beats it",
        arguments: [
            ([String: String](), Logger.Level.info, Logger.Level.info),
            (["RUST_LOG": "warn"], .warning, .warning),
            (["RUST_LOG": "info,actix_web=warn"], .info, .warning),
            (["RUST_LOG": "flat_manager=debug"], .debug, .critical),
            (["RUST_LOG": "error,actix_web::middleware::logger=info"], .error, .info),
            (["RUST_LOG": "off"], .critical, .critical),
            (["RUST_LOG": "nonsense=loud"], .info, .info),
            (["RUST_LOG": "warn", "FLAT_MANAGER_LOG": "debug"], .debug, .debug),
        ])
    func levels(environment: [String: String], server: Logger.Level, access: Logger.Level) {
        let levels = LogLevels(environment: environment)
        #expect(levels.server == server)
        #expect(levels.access == access)
    }

    @Test("the access log writes a line per request at info and none at warning (RUST_LOG=warn)")
    func accessLogFollowsItsLevel() async throws {
        for (level, expected) in [(Logger.Level.info, 1), (.warning, 0)] {
            let lines = CapturedLines()
            var logger = Logger(label: "access") { _ in CapturingLogHandler(lines: lines) }
            logger.logLevel = level
            let router = Router(context: AppRequestContext.self)
            router.add(middleware: AccessLogMiddleware(logger: logger, metrics: nil))
            router.get("/hello") { _, _ in "hi" }

            let status = try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/hello?x=1", method: .get).status
            }

            #expect(status == .ok)
            let captured = lines.value.withLock { $0 }
            #expect(captured.count == expected)
            if let line = captured.first {
                #expect(line.contains("\"GET /hello?x=1 HTTP/1.1\" 200 2 - "))
            }
        }
    }

    @Test("the sink writes every line, in order, to its descriptor")
    func sinkKeepsOrder() throws {
        let expected = (0..<200).map { "line \($0)\n" }
        let text = try Self.written { sink in
            for line in expected { sink.append(line, urgent: line == "line 100\n") }
        }
        #expect(text == expected.joined())
    }

    @Test("lines reach the descriptor without a flush")
    func sinkWritesByItself() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let sink = LogSink(descriptor: ends[1])
        sink.append("one\n")
        sink.append("two\n")
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        // Waits for the sink's queue to write; a generous bound turns "never" into a failure instead of a hang.
        while received.count < 8 {
            var ready = pollfd(fd: ends[0], events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 30_000) == 1 else { break }
            let count = read(ends[0], &chunk, chunk.count)
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        close(ends[1])
        #expect(String(decoding: received, as: UTF8.self) == "one\ntwo\n")
    }

    @Test("the text handler keeps swift-log's stream format")
    func textFormat() throws {
        let text = try Self.written { sink in
            var logger = Logger(label: "flat-manager") { label in
                TextLogHandler(label: label, sink: sink, logLevel: .info)
            }
            logger[metadataKey: "repo"] = "stable"
            logger.debug("hidden")
            logger.info("hello", metadata: ["request_id": "7"])
        }
        let line = try #require(text.split(separator: "\n").first)
        #expect(text.split(separator: "\n").count == 1)
        #expect(line.hasSuffix(" info flat-manager: repo=stable request_id=7 [FlatManagerAPITests] hello"))
        #expect(line.first?.isNumber == true)
    }

    @Test("the fast path's whole access-log lines are the text handler's lines for the same message and metadata")
    func fastAccessLinesMatchTheTextHandler() throws {
        let message = #"127.0.0.1:5000 "GET /repo/stable/objects/ab/cd.filez HTTP/1.1" 200 16384 wrk/4 0.000042"#
        let requestID = "5f3a9c000000000000000007"
        let viaHandler = try Self.written { sink in
            let logger = Logger(label: "flat-manager") { label in
                TextLogHandler(label: label, sink: sink, logLevel: .info)
            }
            logger.info(
                "\(message)", metadata: ["request_id": "\(requestID)", "repo": "stable"], source: TextAccessLog.source)
        }
        let viaFastLane = try Self.written { sink in
            let log = TextAccessLog(label: "flat-manager", sink: sink)
            Array("stable".utf8).withUnsafeBytes { repo in
                Array(requestID.utf8).withUnsafeBytes { id in
                    Array(message.utf8).withUnsafeBytes { log.info(repo: repo, requestID: id, message: $0) }
                }
            }
        }

        // The same line after the time stamp (which may have moved on by a second in between).
        func afterTime(_ text: String) -> Substring? { text.firstIndex(of: " ").map { text[$0...] } }
        #expect(viaFastLane.hasSuffix("\n") && viaFastLane.filter { $0 == "\n" }.count == 1)
        #expect(afterTime(viaFastLane) == afterTime(viaHandler), "\(viaFastLane) vs \(viaHandler)")
        #expect(viaFastLane.first?.isNumber == true)
    }

    @Test("a stamped line that does not fit the room asked for is dropped whole, and the lines around it are kept")
    func stampedLineTooLong() throws {
        let text = try Self.written { sink in
            let stamp: (time_t) -> String = { _ in "T" }
            sink.append(stamped: stamp, length: 8) { $0.write("one\n") }
            sink.append(stamped: stamp, length: 8) { $0.write("far too long for eight\n") }
            sink.append(stamped: stamp, length: 8) { $0.write("three\n") }
        }
        #expect(text == "Tone\nTthree\n")
    }

    /// What `body` writes through a sink on a pipe.
    static func written(_ body: (LogSink) -> Void) throws -> String {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let sink = LogSink(descriptor: ends[1], limit: 256)
        body(sink)
        sink.flush()
        close(ends[1])
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends[0], &chunk, chunk.count)
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

final class CapturedLines: Sendable {
    let value = Mutex<[String]>([])
}

/// Records each message.
struct CapturingLogHandler: LogHandler {
    let lines: CapturedLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.value.withLock { $0.append("\(event.message)") }
    }
}
