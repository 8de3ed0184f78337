import Logging

/// The log levels, from `FLAT_MANAGER_LOG` (ours, one level for everything) or else `RUST_LOG` as upstream's
/// env_logger reads it: comma-separated directives, a bare level for every target and `target=level` for one.
/// Upstream's access log is the target `actix_web` (its `actix_web::middleware::logger`), everything else is
/// `flat_manager`; so `RUST_LOG=warn` silences the access log, and `RUST_LOG=info,actix_web=warn` only it.
/// Unset (or unreadable), both are `info`, upstream's default. env_logger's `off` is `critical` here, the quietest
/// level swift-log has.
struct LogLevels: Equatable {
    var server: Logger.Level = .info
    var access: Logger.Level = .info

    init(environment: [String: String]) {
        if let text = environment["FLAT_MANAGER_LOG"], let level = Logger.Level(rawValue: text) {
            (server, access) = (level, level)
            return
        }
        guard let filter = environment["RUST_LOG"] else { return }
        var global: Logger.Level?
        var targets: [(target: Substring, level: Logger.Level)] = []
        // A `/regex` suffix filters messages in env_logger; it is ignored here.
        let directives = filter.split(separator: "/", maxSplits: 1).first ?? ""
        for directive in directives.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            if parts.count == 1, let level = Self.level(parts[0]) {
                global = level
            } else if parts.count == 2, let level = Self.level(parts[1]) {
                targets.append((parts[0], level))
            } else if parts.count == 1, !parts[0].isEmpty {
                targets.append((parts[0], .trace))  // A bare target name enables all of its levels.
            }
        }
        // env_logger: without a bare level, targets not named are off.
        let fallback = global ?? (targets.isEmpty ? .info : .critical)
        func level(for target: String) -> Logger.Level {
            // The longest matching prefix wins, as in env_logger.
            let matching = targets.filter { target == $0.target || target.hasPrefix($0.target + "::") }
            return matching.max { $0.target.count < $1.target.count }?.level ?? fallback
        }
        server = level(for: "flat_manager")
        access = level(for: "actix_web::middleware::logger")
    }

    private static func level(_ text: Substring) -> Logger.Level? {
        switch text.lowercased() {
        case "off": .critical
        case "error": .error
        case "warn": .warning
        case "info": .info
        case "debug": .debug
        case "trace": .trace
        default: nil
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
