import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What `lstat` says a directory entry is. A symbolic link is reported as such, never as what it points at.
public enum FileKind: Sendable, Equatable {
    case directory
    /// A regular file and its link count (more than 1 means another name shares its content).
    case regular(linkCount: UInt64)
    case symlink
    /// A device, fifo or socket; the word names which, for log lines.
    case special(String)

    /// The kind of the entry at `path` without following a symlink in its last component; `nil` if it is absent.
    public static func at(_ path: FilePath) -> FileKind? {
        var info = stat()
        guard lstat(path.string, &info) == 0 else { return nil }
        return FileKind(mode: info.st_mode, linkCount: UInt64(info.st_nlink))
    }

    init(mode: mode_t, linkCount: UInt64) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFREG: self = .regular(linkCount: linkCount)
        case S_IFLNK: self = .symlink
        case S_IFIFO: self = .special("fifo")
        case S_IFSOCK: self = .special("socket")
        case S_IFCHR: self = .special("character device")
        case S_IFBLK: self = .special("block device")
        default: self = .special("unknown file type")
        }
    }
}

/// Directory listings for the server's walks (refs, deltas, objects, metrics) that never follow a symbolic link:
/// a repository is shared with hooks and operators, and a link inside it must not lead a walk elsewhere.
public enum DirectoryWalk {
    /// The names in `directory` with their `lstat` kinds (`.` and `..` left out), sorted by name; `nil` if the
    /// directory cannot be listed. `directory` itself is resolved as given (a configured path may be a link).
    public static func entries(of directory: FilePath) -> [(name: String, kind: FileKind)]? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.string) else { return nil }
        return names.sorted().compactMap { name in
            FileKind.at(directory.appending(name)).map { (name: name, kind: $0) }
        }
    }

    /// The real subdirectories of `directory` (symlinks to directories are skipped), sorted; empty if unreadable.
    public static func subdirectories(of directory: FilePath) -> [String] {
        (entries(of: directory) ?? []).filter { $0.kind == .directory }.map(\.name)
    }

    /// The regular files of `directory` (symlinks and special files are skipped), sorted; empty if unreadable.
    public static func regularFiles(in directory: FilePath) -> [String] {
        (entries(of: directory) ?? []).filter { entry in
            if case .regular = entry.kind { return true }
            return false
        }.map(\.name)
    }

    /// Every regular file below `root` with its size, depth first, never entering a symlinked directory.
    /// `root` itself is resolved as given.
    public static func regularFiles(below root: FilePath) -> [(path: FilePath, size: UInt64)] {
        var found: [(path: FilePath, size: UInt64)] = []
        var pending = [root]
        while let directory = pending.popLast() {
            for entry in entries(of: directory) ?? [] {
                let path = directory.appending(entry.name)
                switch entry.kind {
                case .directory: pending.append(path)
                case .regular: found.append((path: path, size: size(of: path)))
                case .symlink, .special: continue
                }
            }
        }
        return found
    }

    private static func size(of path: FilePath) -> UInt64 {
        var info = stat()
        guard lstat(path.string, &info) == 0, info.st_size > 0 else { return 0 }
        return UInt64(info.st_size)
    }
}
