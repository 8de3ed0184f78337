import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Why `TreeRemoval.remove` stopped: the entry (relative to the removed path) and the `errno` of the failed call.
public struct TreeRemovalError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var code: Int32

    public var description: String { "cannot remove '\(path)': \(String(cString: strerror(code)))" }
}

/// Removes a directory tree without following a symbolic link and without minding a second remover.
///
/// `FileManager.removeItem` gives up when an entry it listed is gone before it unlinks it, so two removers of one
/// tree (the background removal of a discarded build and the cleanup sweep) could both fail and leave it half
/// removed. Here every step relative to an open directory (`openat` with `O_NOFOLLOW`, `unlinkat`) takes an entry
/// that is already gone as done.
public enum TreeRemoval {
    /// A descriptor stays open per level; a repository is a few levels deep.
    public static let maximumDepth = 256

    /// Removes `path` (a directory with everything below it, or a file or symbolic link itself); false when it was
    /// not there. The last component of `path` is not followed; its parent is resolved as given.
    @discardableResult
    public static func remove(_ path: FilePath) throws(TreeRemovalError) -> Bool {
        guard let name = path.lastComponent?.string else {
            throw TreeRemovalError(path: path.string, code: EINVAL)
        }
        var parentPath = path
        parentPath.removeLastComponent()
        let parent = open(parentPath.isEmpty ? "." : parentPath.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else {
            if errno == ENOENT { return false }
            throw TreeRemovalError(path: parentPath.string, code: errno)
        }
        defer { close(parent) }
        return try removeEntry(name, in: parent, relative: name, depth: 0)
    }

    /// Removes `name` in the open directory `parent`; false when it was already gone.
    private static func removeEntry(_ name: String, in parent: Int32, relative: String, depth: Int)
        throws(TreeRemovalError) -> Bool
    {
        if unlinkat(parent, name, 0) == 0 { return true }
        switch errno {
        case ENOENT: return false
        case EISDIR, EPERM: break  // A directory (Linux says EISDIR; POSIX allows EPERM).
        default: throw TreeRemovalError(path: relative, code: errno)
        }
        guard depth < maximumDepth else { throw TreeRemovalError(path: relative, code: ELOOP) }
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return false }
            throw TreeRemovalError(path: relative, code: errno)
        }
        try removeContents(of: descriptor, relative: relative, depth: depth + 1)
        if unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT { return true }
        throw TreeRemovalError(path: relative, code: errno)
    }

    /// Removes everything in the open directory `descriptor` (closed here).
    private static func removeContents(of descriptor: Int32, relative: String, depth: Int) throws(TreeRemovalError) {
        guard let directory = fdopendir(descriptor) else {
            let code = errno
            close(descriptor)
            throw TreeRemovalError(path: relative, code: code)
        }
        defer { closedir(directory) }
        // The names are read first: unlinking while `readdir` goes on may make it skip entries.
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { raw in
                raw.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        let fd = dirfd(directory)
        for name in names {
            _ = try removeEntry(name, in: fd, relative: relative + "/" + name, depth: depth)
        }
    }
}
