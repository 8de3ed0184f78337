import Dispatch
import Foundation
import Logging

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
        DispatchQueue.global(qos: .utility).async {
            do {
                try FileManager.default.removeItem(atPath: trash)
            } catch {
                // A sweep may have removed it meanwhile.
                guard FileManager.default.fileExists(atPath: trash) else { return }
                logger.warning("Cannot remove \(trash): \(error.localizedDescription)")
            }
        }
        return true
    }

    /// Removes every trash entry directly below `directory` (left by a process that ended before its background
    /// removal did); returns how many it removed. An entry another remover took first is not an error.
    static func sweep(_ directory: String) -> Int {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            // `removeItem` deletes a symbolic link, it does not follow it.
            if (try? fm.removeItem(atPath: "\(directory)/\(name)")) != nil { removed += 1 }
        }
        return removed
    }
}
