import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The lock between `missing_objects` answering "present" from the main repository and anything removing objects
/// from it (the prune job); see `BorrowedObjects`. Two `flock`s on files in the main repository, so it holds across
/// every server process on one repository whatever the database, and the kernel releases it when its holder dies:
///
/// * `.flat-manager-adoption.lock`: held shared by each `missing_objects` request from its first lookup until its
///   record is on disk, exclusively by a prune from its adoption of the records until its last deletion;
/// * `.flat-manager-adoption-gate.lock`: the turnstile in front of it. A request passes it (shared, never waiting)
///   on its way in; a prune holds it exclusively from before it waits for the requests in flight, so a steady
///   stream of requests cannot starve it. A request that finds either lock taken does not wait either: it links
///   what it finds instead (`ObjectAdopter`), which never needs the lock.
public final class AdoptionLock: Sendable {
    static let lockName = ".flat-manager-adoption.lock"
    static let gateName = ".flat-manager-adoption-gate.lock"

    private let descriptors: [Int32]

    private init(_ descriptors: [Int32]) {
        self.descriptors = descriptors
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// Gives the lock up now (it is given up at the latest when the last reference goes).
    public func release() {
        for descriptor in descriptors { flock(descriptor, LOCK_UN) }
    }

    /// The lock held shared, nil when it cannot be had right now (a prune holds or waits for it) or at all (its
    /// files cannot be opened): then nothing may be answered present from the main repository without a link.
    /// Never waits. `repository` may be a build's `parent` link.
    public static func shared(repository: FilePath) -> AdoptionLock? {
        let gate = open(repository, gateName)
        guard gate >= 0 else { return nil }
        defer { close(gate) }
        guard flock(gate, LOCK_SH | LOCK_NB) == 0 else { return nil }
        let lock = open(repository, lockName)
        guard lock >= 0 else { return nil }
        guard flock(lock, LOCK_SH | LOCK_NB) == 0 else {
            close(lock)
            return nil
        }
        return AdoptionLock([lock])
    }

    /// The lock held exclusively, once every request holding it shared has finished (checked every
    /// `interval`; no thread waits in the kernel). Throws when its files cannot be opened or locked.
    public static func exclusive(repository: FilePath, interval: Duration = .milliseconds(20)) async throws
        -> AdoptionLock
    {
        let gate = open(repository, gateName)
        guard gate >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let lock = open(repository, lockName)
        guard lock >= 0 else {
            let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            close(gate)
            throw error
        }
        // Owns both from here: released if the task is cancelled while waiting.
        let held = AdoptionLock([lock, gate])
        try await Self.lock(gate, interval: interval)
        try await Self.lock(lock, interval: interval)
        return held
    }

    private static func lock(_ descriptor: Int32, interval: Duration) async throws {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            try await Task.sleep(for: interval)
        }
    }

    private static func open(_ repository: FilePath, _ name: String) -> Int32 {
        Glibc.open(repository.appending(name).string, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
    }
}
