import FlatManagerAPI
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// swift-log's `StreamLogHandler` text format (`<time> <level> <label>: <metadata> [<source>] <message>`), written
/// through a `LogSink` instead of one locked, flushed `fwrite` per line, and with the timestamp formatted once per
/// second instead of a `localtime`/`strftime` per line.
struct TextLogHandler: LogHandler {
    let label: String
    let sink: LogSink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        if merged.isEmpty, metadata.isEmpty, let extra = event.metadata {
            merged = extra  // The access log's case: only the line's own metadata.
        } else {
            if !metadata.isEmpty { merged.merge(metadata) { _, own in own } }
            if let extra = event.metadata { merged.merge(extra) { _, own in own } }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = LogTimestamp.now()
        line.reserveCapacity(256)
        line += " "
        line += event.level.rawValue
        line += " "
        line += label
        line += ":"
        for key in merged.keys.sorted() {
            line += " "
            line += key
            line += "="
            switch merged[key] {
            case .string(let text): line += text
            case let value?: line += value.description
            case nil: break
            }
        }
        line += " ["
        line += event.source
        line += "] "
        line += event.message.description
        line += "\n"
        sink.append(line, urgent: event.level >= .warning)
    }
}

/// The fast path's access-log lines in `TextLogHandler`'s format, written straight into the sink (issue #13): what
/// `TextLogHandler` writes for an info line of the access logger with the metadata `repo` and `request_id` and no
/// other (the access logger has no metadata of its own, and the event loops no task-local context).
struct TextAccessLog: FastAccessLog {
    let label: String
    let sink: LogSink
    /// `TextLogHandler`'s source for the fast path's lines: the module that logs them.
    static let source = "FlatManagerAPI"
    /// What follows the time stamp up to the repository's name, and what follows the request id up to the message:
    /// the same for every line, so encoded once.
    private let head: [UInt8]
    private let tail: [UInt8]

    init(label: String, sink: LogSink) {
        self.label = label
        self.sink = sink
        self.head = Array(" info \(label): repo=".utf8)
        self.tail = Array(" [\(Self.source)] ".utf8)
    }

    func info(repo: UnsafeRawBufferPointer, requestID: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) {
        // The sink's own time stamp cache, under the lock it takes anyway (one lock per line, not two). Only plain
        // stores into the sink's buffer: no array or string of the line is retained, appended or released (the
        // sink and its buffer are shared by every event loop, and so are their reference counts).
        // The closure captures bytes only, not `self` (a copy of it would retain the label, the sink and `head`).
        head.withUnsafeBytes { head in
            tail.withUnsafeBytes { tail in
                let length = head.count + repo.count + requestID.count + tail.count + message.count + 16
                sink.append(stamped: LogTimestamp.format, length: length) { cursor in
                    cursor.write(head)
                    cursor.write(repo)
                    cursor.write(" request_id=")
                    cursor.write(requestID)
                    cursor.write(tail)
                    cursor.write(message)
                    cursor.write(byte: UInt8(ascii: "\n"))
                }
            }
        }
    }
}

/// Local time as `%Y-%m-%dT%H:%M:%S%z`, formatted when the second changes.
enum LogTimestamp {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        let seconds = time(nil)
        if let text = cache.withLock({ $0.second == seconds ? $0.text : nil }) { return text }
        let text = format(seconds)
        cache.withLock { $0 = (Int(seconds), text) }
        return text
    }

    /// `seconds` since the epoch as local time, uncached.
    static func format(_ seconds: time_t) -> String {
        var seconds = seconds
        var local = tm()
        var buffer = [CChar](repeating: 0, count: 64)
        guard localtime_r(&seconds, &local) != nil,
            strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local) > 0
        else { return "<unknown>" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
