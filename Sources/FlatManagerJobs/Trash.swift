import Dispatch
import Foundation
import Logging
import OSTree
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Takes a directory out of the way at once and removes it in the background (ours, issue #13).
///
/// Removing a tree costs one journal update per file, which on a busy disk takes from tens of milliseconds to a
/// second even for a tiny build; the jobs that remove the upload repository (commit) and the build directory
/// (publish) would wait for it while their clients wait for them. A `rename` into a dot-named sibling (never served:
/// file serving refuses dot segments) makes the tree gone for everyone at once; the removal then runs on a dispatch
/// queue. Should the process end first, what is left is removed later: the upload's trash with its build directory,
/// a build's trash by `BuildCleanup`'s next sweep (`sweepTrash`).
enum Trash {
    /// The prefix of trash names (`<dir>/.removed-<what>-<uuid>`).
    static let prefix = ".removed-"

    /// Renames `path` to `<parent>/.removed-<label>-<uuid>` and removes that in the background; returns false when
    /// `path` did not exist. When the rename fails otherwise, `path` is removed in place before returning.
    @discardableResult
    static func discard(_ path: String, label: String, logger: Logger) throws -> Bool {
        let parent = (path as NSString).deletingLastPathComponent
        let trash = "\(parent)/\(prefix)\(label)-\(UUID().uuidString)"
        guard rename(path, trash) == 0 else {
            if errno == ENOENT { return false }
            try FileManager.default.removeItem(atPath: path)
            return true
        }
        // Unstructured on purpose: nothing waits for the removal, and a leftover is swept later.
        // A sweep removing the same trash meanwhile is no error (`TreeRemoval` takes a vanished entry as done).
        DispatchQueue.global(qos: .utility).async {
            do {
                try TreeRemoval.remove(FilePath(trash))
            } catch {
                logger.warning("Cannot remove \(trash): \(error)")
            }
        }
        return true
    }

    /// Removes every trash entry directly below `directory` (left by a process that ended before its background
    /// removal did); returns how many it removed. An entry another remover took first is not an error.
    static func sweep(_ directory: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            // A symbolic link is removed, not followed; a background removal of the same trash is no error.
            if (try? TreeRemoval.remove(FilePath("\(directory)/\(name)"))) == true { removed += 1 }
        }
        return removed
    }
}
