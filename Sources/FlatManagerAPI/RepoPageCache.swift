import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The rows of the `/status/repo/{repo}` pages, read from disk at most once per `lifetime` per repository, and again
/// at once when the repository's `summary` changes (an update-repo job rewrites it).
///
/// The page reads every ref, loads every ref's commit and scans `deltas/`: on a large repository that is seconds of
/// disk and CPU, and the page is public by default. Without this, anyone could make the server do that work as often
/// as they can send a request. Requests that come while the rows are being read wait for that one reading (it runs
/// as a task of its own, so a client that goes away does not cancel it for the others).
final class RepoPageCache: Sendable {
    /// One ref's row, as the page shows it.
    struct Row: Sendable, Equatable {
        var name: String
        var commit: String
        /// "from <commit prefix>" or "from scratch", sorted.
        var deltas: [String]
        var updated: String?
        var installedSize: String?
        var downloadSize: String?
    }

    private struct Entry {
        var summary: FileIdentity?
        var read: ContinuousClock.Instant
        var rows: Task<[Row], any Error>
    }

    /// How long rows are answered without looking at the refs again (the summary is looked at every time).
    let lifetime: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: Duration = .seconds(5)) {
        self.lifetime = lifetime
    }

    /// The rows of the repository `name` at `path`; `read` reads them when the kept ones are too old or the summary
    /// changed.
    func rows(
        of name: String, at path: FilePath, now: ContinuousClock.Instant = .now,
        read: @escaping @Sendable () throws -> [Row]
    ) async throws -> [Row] {
        let summary = Self.identity(of: path.appending("summary"))
        let task = entries.withLock { entries -> Task<[Row], any Error> in
            if let entry = entries[name], entry.summary == summary, now - entry.read < lifetime {
                return entry.rows
            }
            let task = Task { try read() }
            entries[name] = Entry(summary: summary, read: now, rows: task)
            return task
        }
        return try await task.value
    }

    /// The file's size and times (nil when it cannot be looked at).
    static func identity(of path: FilePath) -> FileIdentity? {
        var info = stat()
        guard stat(path.string, &info) == 0 else { return nil }
        return FileIdentity(stat: info)
    }
}
