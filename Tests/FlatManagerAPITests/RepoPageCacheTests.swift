import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import FlatManagerAPI

@Suite("Repo page cache")
struct RepoPageCacheTests {
    /// A directory with a `summary` file, removed afterwards.
    private func withRepo(_ body: (FilePath) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repo-page-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("one".utf8).write(to: URL(fileURLWithPath: path + "/summary"))
        try await body(FilePath(path))
    }

    @Test("rows are read once per lifetime, again when it has passed or the summary changed, once for concurrent pages")
    func readsAtMostOncePerLifetime() async throws {
        try await withRepo { path in
            let cache = RepoPageCache(lifetime: .seconds(5))
            let reads = Mutex(0)
            let read: @Sendable () throws -> [RepoPageCache.Row] = {
                let count = reads.withLock { count -> Int in
                    count += 1
                    return count
                }
                return [RepoPageCache.Row(name: "app/x/x86_64/stable", commit: "c\(count)", deltas: [])]
            }
            let start = ContinuousClock.now

            // Twenty pages at once: one reading.
            let commits = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await cache.rows(of: "stable", at: path, now: start, read: read)[0].commit }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(commits == Array(repeating: "c1", count: 20))
            #expect(reads.withLock { $0 } == 1)

            // Within the lifetime, with the summary unchanged: the same rows, nothing read.
            let later = try await cache.rows(of: "stable", at: path, now: start + .seconds(4), read: read)
            #expect(later.first?.commit == "c1" && reads.withLock { $0 } == 1)
            // Another repository has rows of its own.
            let other = try await cache.rows(of: "beta", at: path, now: start + .seconds(4), read: read)
            #expect(other.first?.commit == "c2" && reads.withLock { $0 } == 2)

            // Past the lifetime: read again.
            let expired = try await cache.rows(of: "stable", at: path, now: start + .seconds(6), read: read)
            #expect(expired.first?.commit == "c3" && reads.withLock { $0 } == 3)

            // The summary rewritten (another size): read again at once.
            try Data("a new summary".utf8).write(to: URL(fileURLWithPath: path.string + "/summary"))
            let updated = try await cache.rows(of: "stable", at: path, now: start + .seconds(7), read: read)
            #expect(updated.first?.commit == "c4" && reads.withLock { $0 } == 4)
        }
    }
}
