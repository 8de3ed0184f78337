#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small synchronous wrappers over the POSIX calls that uploads and file serving need.
///
/// Plain POSIX rather than NIOFileSystem here on purpose: these calls are short (metadata, page-cache
/// writes), and a NIOFileSystem handle that is not closed — e.g. because its `close()` was
/// cancelled when a client hung up — crashes the process, whereas a descriptor closed
/// synchronously is always closed.
enum POSIXFiles {
    /// `strerror(errno)` for error messages.
    static func lastErrorMessage() -> String {
        String(cString: strerror(errno))
    }

    /// `mkdir -p`: creates `path` and its missing parents with mode 0755.
    static func makeDirectories(_ path: String) throws(POSIXFileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw POSIXFileError(operation: "create directory", path: current, message: lastErrorMessage())
            }
        }
        // An existing non-directory in the way surfaces as ENOTDIR from the open/rename that follows.
    }

    /// The parent directory of an absolute or relative path (`.` when there is none).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `realpath(3)`; nil when the path does not exist or cannot be resolved.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A failed POSIX file operation, with enough context for a log line.
struct POSIXFileError: Error, Sendable, Equatable, CustomStringConvertible {
    var operation: String
    var path: String
    var message: String

    var description: String { "Failed to \(operation) \(path): \(message)" }
}
