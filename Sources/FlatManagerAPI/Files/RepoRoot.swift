import CLinuxFiles
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A repository root held open as a directory descriptor, so that a file below it is opened, confined, with one
/// system call: `openat2` beneath the directory, following no symlink (so the file opened is exactly the one named,
/// with no `realpath` or per-component work). Anything that needs more — a symlink on the way, such as `media` on
/// another disk, or a kernel without `openat2` — is answered `.unsupported`, and the caller takes the general path
/// (`ConfinedPath`), which follows symlinks that stay inside the allowed roots.
///
/// The descriptor is checked against the path once a second: when the repository directory has been replaced (an
/// operator moved another tree to the configured path), the new one is opened, so that the fast path serves what the
/// general path serves (and nothing once nothing is there). The old descriptor is left open (a request on another
/// event loop may be using it, and a closed number can be reused by any file): one descriptor per replacement.
final class RepoRoot: Sendable {
    let path: String
    /// The directory's descriptor, -1 until first used: a repository may be created after the server starts.
    private let descriptor = Atomic<Int32>(-1)
    /// The second (`time`) in which the descriptor was last found to be the path's directory.
    private let checked = Atomic<Int>(Int.min)

    /// The outcome of opening a file below the root.
    enum Opened: Equatable {
        /// An open descriptor of the file (or directory) itself; the caller closes it.
        case descriptor(Int32)
        /// Nothing of that name, with no symlink on the way: the general path would not find it either.
        case missing
        /// The fast path cannot decide (a symlink, an escape attempt, no `openat2`): take the general path.
        case unsupported
    }

    init(path: String) {
        self.path = path
    }

    deinit {
        let descriptor = descriptor.load(ordering: .relaxed)
        if descriptor >= 0 { close(descriptor) }
    }

    /// Opens `relative` (normalised segments joined by `/`, no `..`) read-only; non-blocking, so that a FIFO planted in
    /// the repository cannot hang the open (the caller refuses everything that is not a regular file).
    func open(_ relative: String) -> Opened {
        relative.withCString { open(cString: $0) }
    }

    /// `open(_:)` of a path's bytes (from a request's), copied to the stack rather than to a new string.
    func open(_ relative: UnsafeRawBufferPointer) -> Opened {
        let count = relative.count
        guard count < 4096, !relative.contains(0) else { return .unsupported }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Opened in
            guard let base = buffer.baseAddress else { return .unsupported }
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: relative)
            buffer[count] = 0
            return open(cString: UnsafePointer(base))
        }
    }

    private func open(cString relative: UnsafePointer<CChar>) -> Opened {
        guard let directory = directory() else { return .unsupported }
        let opened = clinuxfiles_open_beneath(directory, relative, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if opened >= 0 { return .descriptor(opened) }
        switch errno {
        case ENOENT, ENOTDIR: return .missing
        default: return .unsupported
        }
    }

    private func directory(now: Int = time(nil)) -> Int32? {
        let current = descriptor.load(ordering: .acquiring)
        if current >= 0 {
            // Written only when a second's check was made: a store per request would move this cache line between
            // the event loops' cores on every answer.
            if checked.load(ordering: .relaxed) == now { return current }
            if isStillThePath(current) {
                checked.store(now, ordering: .relaxed)
                return current
            }
        }
        let opened = openDirectory(path)
        guard opened >= 0 else { return nil }
        let (exchanged, winner) = descriptor.compareExchange(
            expected: current, desired: opened, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
        if exchanged {
            checked.store(now, ordering: .relaxed)
            return opened
        }
        close(opened)  // Another request opened it first.
        return winner
    }

    /// Whether the directory at `path` is still the one `descriptor` refers to (same device and inode).
    private func isStillThePath(_ descriptor: Int32) -> Bool {
        var atPath = stat()
        var held = stat()
        // Nothing at the path any more: not the held tree either (the reopen fails, and the general path decides).
        guard stat(path, &atPath) == 0, fstat(descriptor, &held) == 0 else { return false }
        return atPath.st_dev == held.st_dev && atPath.st_ino == held.st_ino
    }

    /// The descriptor in use (for tests): `directory()` after its once-a-second check.
    func currentDescriptor(now: Int) -> Int32? {
        directory(now: now)
    }
}

/// `open(2)` of a directory, outside `RepoRoot` whose own `open` would shadow it.
private func openDirectory(_ path: String) -> Int32 {
    open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
}
