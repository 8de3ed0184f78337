import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Why a checked-out tree was refused, or could not be copied without following a link (issue #10, hole 1).
/// Paths are relative to the tree's root, so a log line names the entry without revealing server paths.
public enum UnsafeTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The tree holds a symbolic link.
    case symlink(String)
    /// The tree holds a device, fifo or socket.
    case specialFile(String, kind: String)
    /// A regular file has more than one name (a hard link could tie it to a file outside the tree).
    case hardLink(String, linkCount: UInt64)
    /// Deeper than `NoFollowTree.maximumDepth` directories.
    case tooDeep(String)
    /// The destination holds a symbolic link (or a non-directory) where the tree needs a directory or a file.
    case destinationConflict(String, reason: String)
    /// A file system call failed.
    case io(String, reason: String)

    public var description: String {
        switch self {
        case .symlink(let path): "'\(path)' is a symbolic link"
        case .specialFile(let path, let kind): "'\(path)' is a \(kind)"
        case .hardLink(let path, let count): "'\(path)' has \(count) hard links"
        case .tooDeep(let path): "'\(path)' is nested too deeply"
        case .destinationConflict(let path, let reason): "destination '\(path)' \(reason)"
        case .io(let path, let reason): "'\(path)': \(reason)"
        }
    }
}

/// Checks a private tree (a fresh checkout) and copies it into a shared directory without ever following a symbolic
/// link: the shared directory is resolved once, everything below it is opened with `O_NOFOLLOW`, and files arrive
/// under a temporary name that is then renamed over the old one (so a reader never sees half a file).
public enum NoFollowTree {
    /// Screenshots are `<app id>/<size>/<file>`; the bound keeps the copy's open descriptors (two per level) small.
    public static let maximumDepth = 32

    /// One entry of a checked tree, relative to its root; directories come before what they contain.
    public struct Entry: Sendable, Equatable {
        public var components: [String]
        public var isDirectory: Bool

        public var path: FilePath { FilePath(relativePath) }

        /// `path` as text, for error messages.
        var relativePath: String { components.joined(separator: "/") }
    }

    /// Walks `root` with `lstat` and returns its directories and regular files, or throws for the first symlink,
    /// device, fifo, socket or multiply linked file (in name order, so the error is deterministic).
    public static func inspect(_ root: FilePath) throws(UnsafeTreeError) -> [Entry] {
        var entries: [Entry] = []
        var pending: [[String]] = [[]]
        while let directory = pending.popLast() {
            guard directory.count < maximumDepth else { throw .tooDeep(directory.joined(separator: "/")) }
            let base = FilePath(([root.string] + directory).joined(separator: "/"))
            guard let children = DirectoryWalk.entries(of: base) else {
                throw .io(directory.joined(separator: "/"), reason: "cannot list the directory")
            }
            for child in children.reversed() {
                let entry = Entry(components: directory + [child.name], isDirectory: child.kind == .directory)
                switch child.kind {
                case .directory: pending.append(entry.components)
                case .regular(let count) where count > 1: throw .hardLink(entry.relativePath, linkCount: count)
                case .regular: break
                case .symlink: throw .symlink(entry.relativePath)
                case .special(let kind): throw .specialFile(entry.relativePath, kind: kind)
                }
                entries.append(entry)
            }
        }
        return entries.sorted { $0.components.lexicographicallyPrecedes($1.components) }
    }

    /// Copies the directories and regular files of `root` (already `inspect`ed) into `destination`, replacing
    /// files of the same name and keeping everything else (union semantics). `destination` may itself be a
    /// symbolic link (it is resolved once); below it a symlink or a non-directory in the way is an error.
    /// Modes are fixed (0755 directories, 0644 files): screenshots need no other bits.
    public static func copy(_ entries: [Entry], from root: FilePath, into destination: FilePath) throws(UnsafeTreeError)
    {
        guard let resolved = realPath(destination.string) else {
            throw .io(".", reason: "cannot resolve the destination directory")
        }
        let rootFD = try openDirectory(at: AT_FDCWD, resolved, relative: ".")
        defer { close(rootFD) }
        let sourceFD = try openDirectory(at: AT_FDCWD, root.string, relative: ".")
        defer { close(sourceFD) }
        for entry in entries {
            guard let name = entry.components.last else { continue }
            let parent = Array(entry.components.dropLast())
            let parentFD = try openPath(parent, below: rootFD, create: true)
            defer { close(parentFD) }
            if entry.isDirectory {
                try makeDirectory(name, in: parentFD, relative: entry.relativePath)
            } else {
                try copyFile(entry, name: name, sourceRoot: sourceFD, into: parentFD)
            }
        }
    }

    // MARK: - Descriptors

    /// Opens (and with `create` makes) each component below `base` with `O_NOFOLLOW|O_DIRECTORY`.
    static func openPath(_ components: [String], below base: Int32, create: Bool) throws(UnsafeTreeError) -> Int32 {
        var current = dup(base)
        guard current >= 0 else { throw .io(".", reason: errnoText()) }
        for (index, name) in components.enumerated() {
            let relative = components.prefix(index + 1).joined(separator: "/")
            if create {
                do throws(UnsafeTreeError) {
                    try makeDirectory(name, in: current, relative: relative)
                } catch {
                    close(current)
                    throw error
                }
            }
            let next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let failure = errno
            close(current)
            guard next >= 0 else { throw openError(failure, relative: relative) }
            current = next
        }
        return current
    }

    private static func openDirectory(at base: Int32, _ path: String, relative: String) throws(UnsafeTreeError)
        -> Int32
    {
        let fd = openat(base, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(relative, reason: errnoText()) }
        return fd
    }

    /// `mkdirat`, accepting an existing real directory and refusing a symlink or anything else of that name.
    private static func makeDirectory(_ name: String, in parent: Int32, relative: String) throws(UnsafeTreeError) {
        if mkdirat(parent, name, 0o755) == 0 { return }
        let failure = errno
        guard failure == EEXIST else { throw .io(relative, reason: String(cString: strerror(failure))) }
        switch kind(of: name, in: parent) {
        case .directory: return
        case .symlink: throw .destinationConflict(relative, reason: "is a symbolic link")
        default: throw .destinationConflict(relative, reason: "exists and is not a directory")
        }
    }

    private static func openError(_ failure: Int32, relative: String) -> UnsafeTreeError {
        switch failure {
        case ELOOP: .destinationConflict(relative, reason: "is a symbolic link")
        case ENOTDIR: .destinationConflict(relative, reason: "exists and is not a directory")
        default: .io(relative, reason: String(cString: strerror(failure)))
        }
    }

    private static func kind(of name: String, in directory: Int32) -> FileKind? {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return FileKind(mode: info.st_mode, linkCount: UInt64(info.st_nlink))
    }

    // MARK: - Files

    /// Copies one file under a temporary name into `parent`, then renames it over `name`. An existing symlink or
    /// directory named `name` is refused rather than replaced.
    private static func copyFile(_ entry: Entry, name: String, sourceRoot: Int32, into parent: Int32)
        throws(UnsafeTreeError)
    {
        switch kind(of: name, in: parent) {
        case nil, .regular: break
        case .symlink: throw .destinationConflict(entry.relativePath, reason: "is a symbolic link")
        default: throw .destinationConflict(entry.relativePath, reason: "exists and is not a regular file")
        }
        let source = try openSource(entry, sourceRoot: sourceRoot)
        defer { close(source) }
        let temporary = ".\(name).\(UUID().uuidString.prefix(8)).tmp"
        let target = openat(parent, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard target >= 0 else { throw .io(entry.relativePath, reason: errnoText()) }
        do throws(UnsafeTreeError) {
            try pump(from: source, to: target, relative: entry.relativePath)
            guard close(target) == 0 else { throw .io(entry.relativePath, reason: errnoText()) }
        } catch {
            close(target)
            unlinkat(parent, temporary, 0)
            throw error
        }
        guard renameat(parent, temporary, parent, name) == 0 else {
            let reason = errnoText()
            unlinkat(parent, temporary, 0)
            throw .io(entry.relativePath, reason: reason)
        }
    }

    /// The source file, opened without following links and checked again to be a singly linked regular file.
    private static func openSource(_ entry: Entry, sourceRoot: Int32) throws(UnsafeTreeError) -> Int32 {
        let directory = try openPath(Array(entry.components.dropLast()), below: sourceRoot, create: false)
        defer { close(directory) }
        let fd = openat(directory, entry.components.last ?? "", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw openError(errno, relative: entry.relativePath) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw .io(entry.relativePath, reason: errnoText())
        }
        switch FileKind(mode: info.st_mode, linkCount: UInt64(info.st_nlink)) {
        case .regular(let count) where count > 1:
            close(fd)
            throw .hardLink(entry.relativePath, linkCount: count)
        case .regular:
            return fd
        default:
            close(fd)
            throw .specialFile(entry.relativePath, kind: "not a regular file")
        }
    }

    private static func pump(from source: Int32, to target: Int32, relative: String) throws(UnsafeTreeError) {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(source, buffer, size)
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(relative, reason: errnoText())
            }
            var offset = 0
            while offset < count {
                let written = write(target, buffer + offset, count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw .io(relative, reason: errnoText())
                }
                offset += written
            }
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
