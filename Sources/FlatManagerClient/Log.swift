/// Diagnostics on stderr. `-v` shows info (requests that failed and are retried, upload plans), `--debug` also
/// every request and answer; by default only warnings — like the reference clients' logging levels (A.2).
struct Log: Sendable {
    /// How much to show, least first.
    enum Level: Int, Comparable, Sendable {
        case warning, info, debug

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    let level: Level

    init(level: Level = .warning) { self.level = level }

    /// The level the global options ask for.
    init(verbose: Bool, debug: Bool) {
        self.init(level: debug ? .debug : (verbose ? .info : .warning))
    }

    func info(_ message: @autoclosure () -> String) {
        if level >= .info { Console.error("INFO: " + message()) }
    }

    func debug(_ message: @autoclosure () -> String) {
        if level >= .debug { Console.error("DEBUG: " + message()) }
    }
}
