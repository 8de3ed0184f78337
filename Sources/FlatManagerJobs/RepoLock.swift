import FlatManagerCore
import FlatManagerStore
import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The lock that serialises writers of one main repository across processes (issue 14 point 2) and dies with its
/// holder: a PostgreSQL session advisory lock (`Store.withSessionLock`), and on SQLite an exclusive `flock` on
/// `.flat-manager-write.lock` in the repository directory, which the kernel releases when the process dies. The
/// claim of a repo queue already keeps two jobs of one repo apart while leases hold; this lock also covers a stalled
/// holder that resumes after its job was taken over.
enum RepoLock {
    /// Runs `body` holding the lock of `repo`.
    static func with<T: Sendable>(
        _ repo: RepoConfig, store: Store, _ body: () async throws -> T
    ) async throws -> T {
        guard store.kind == .sqlite else { return try await store.withSessionLock(repo.name, body) }
        let path = repo.path.string + "/.flat-manager-write.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw JobError.io("Cannot open the repository lock \(path)", reason: "errno \(errno)") }
        defer { close(fd) }
        // Non-blocking attempts, so no pool thread is parked in the kernel while another process publishes.
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw JobError.io("Cannot lock \(path)", reason: "errno \(errno)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await body()
    }
}
