import Foundation
import OSTree
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What an update-repo job changed in a main repository, for the `repo.updated` webhook: the paths (relative to the
/// repository) an operator purges from a CDN.
///
/// The summary files and `.flatpakrepo` at the top, and the static deltas below `deltas/`, are written by the
/// update-repo job itself: they are compared before and after it by `lstat` fingerprint (size, modification time,
/// inode). Refs are written earlier, by the publish or republish the update follows: they are compared with the
/// refs recorded when the previous update-repo job of the repository ended (`Store.webhookRepoRefs`); with no
/// record yet (the first update after webhooks were enabled) every ref counts as changed.
struct RepoFileSnapshot: Sendable, Equatable {
    /// Relative path → fingerprint.
    var files: [String: String]

    /// The top-level regular files and everything below `summaries/` and `deltas/` (names starting with `.`, such
    /// as the retired deltas in `deltas/.tmp` and lock files, are left out), never following a symbolic link.
    static func take(of repo: FilePath) -> RepoFileSnapshot {
        var files: [String: String] = [:]
        for name in DirectoryWalk.regularFiles(in: repo) where !name.hasPrefix(".") {
            files[name] = fingerprint(repo.appending(name))
        }
        for tree in ["summaries", "deltas"] {
            let root = repo.appending(tree)
            for (path, _) in DirectoryWalk.regularFiles(below: root) {
                let relative = String(path.string.dropFirst(repo.string.count + 1))
                guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
                files[relative] = fingerprint(path)
            }
        }
        return RepoFileSnapshot(files: files)
    }

    /// Paths added, changed or removed since `earlier`, sorted.
    func changedPaths(since earlier: RepoFileSnapshot) -> [String] {
        let paths = Set(files.keys).union(earlier.files.keys)
        return paths.filter { files[$0] != earlier.files[$0] }.sorted()
    }

    private static func fingerprint(_ path: FilePath) -> String {
        var info = stat()
        guard lstat(path.string, &info) == 0 else { return "" }
        return "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ino)"
    }
}

/// The refs of a repository (`refs/heads`, name → commit), read from the ref files without following links.
enum RepoRefs {
    static func read(repo: FilePath) -> [String: String] {
        let heads = repo.appending("refs/heads")
        var refs: [String: String] = [:]
        for (path, size) in DirectoryWalk.regularFiles(below: heads) where size <= 256 {
            guard let text = try? String(contentsOfFile: path.string, encoding: .utf8) else { continue }
            let name = String(path.string.dropFirst(heads.string.count + 1))
            refs[name] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return refs
    }

    /// The ref files (`refs/heads/<name>`) whose commit differs between `before` (nil: nothing known) and `after`.
    static func changedPaths(before: [String: String]?, after: [String: String]) -> [String] {
        let before = before ?? [:]
        let names = Set(before.keys).union(after.keys)
        return names.filter { before[$0] != after[$0] }.sorted().map { "refs/heads/" + $0 }
    }
}
