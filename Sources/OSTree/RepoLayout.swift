import FlatManagerCore
import Foundation
import SystemPackage

/// Why a repository could not be created or read.
public enum RepoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `path` already holds a repository (or a stale `parent` link).
    case alreadyExists(path: String)
    /// A file system operation failed.
    case io(path: String, reason: String)
    /// `path` is not an ostree repository in archive mode.
    case notArchiveRepo(path: String)
    /// A ref or commit could not be resolved.
    case unknownRef(String)
    /// An object file is missing.
    case missingObject(String)
    /// A path that would lead outside the repository (a symbolic link, `..`) was not followed.
    case refused(path: String, reason: String)

    public var description: String {
        switch self {
        case .alreadyExists(let path): return "Repository already exists at \(path)"
        case .io(let path, let reason): return "I/O error at \(path): \(reason)"
        case .notArchiveRepo(let path): return "\(path) is not an ostree repository in archive mode"
        case .unknownRef(let ref): return "Refspec '\(ref)' not found"
        case .missingObject(let name): return "Object \(name) not found"
        case .refused(let path, let reason): return "Refusing \(path): \(reason)"
        }
    }
}

/// Creates repositories on disk without calling ostree (server.md §4.1).
public enum RepoLayout {
    /// The directories every build repository starts with.
    static let directories = [
        "extensions", "objects", "refs/heads", "refs/mirrors", "refs/remotes", "state", "tmp/cache",
    ]

    /// Creates an archive-z2 repo at `path` whose objects fall back to the main repo at `parent`.
    /// Fails if `path` already holds a repo (its `parent` link or `config` exists).
    public static func createBuildRepository(at repository: FilePath, parent: FilePath, collectionID: String?) throws {
        let files = FileManager.default
        let path = repository.string
        let parentPath = absolute(parent.string)
        if (try? files.destinationOfSymbolicLink(atPath: path + "/parent")) != nil
            || files.fileExists(atPath: path + "/config")
        {
            throw RepoError.alreadyExists(path: path)
        }
        do {
            for directory in directories {
                try files.createDirectory(atPath: path + "/" + directory, withIntermediateDirectories: true)
            }
            try files.createSymbolicLink(atPath: path + "/parent", withDestinationPath: parentPath)
            try Data(config(parent: parentPath, collectionID: collectionID).utf8)
                .write(to: URL(fileURLWithPath: path + "/config"))
        } catch {
            throw RepoError.io(path: path, reason: "\(error)")
        }
    }

    /// The `config` text; upstream writes no newline after the last line.
    static func config(parent: String, collectionID: String?) -> String {
        var lines = ["[core]", "repo_version=1", "mode=archive-z2", "min-free-space-size=500MB"]
        if let collectionID { lines.append("collection-id=\(collectionID)") }
        lines.append("parent=\(parent)")
        return lines.joined(separator: "\n")
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}

/// Loose refs under `refs/heads` (server.md §6.5).
public enum Refs {
    /// The commit a ref points at (file content, whitespace trimmed); `nil` when the ref file does not exist.
    public static func read(repo: FilePath, ref: String) throws -> String? {
        try readFile(repo.string + "/refs/heads/" + ref)
    }

    /// The trimmed content of a ref file; `nil` if it does not exist.
    static func readFile(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw RepoError.io(path: path, reason: "\(error)")
        }
    }

    /// All ref names under `refs/heads/<prefix>` (the directory; so `appstream` does not list `appstream2/...`),
    /// recursively, sorted, relative to `refs/heads`. A missing directory gives an empty list.
    ///
    /// The walk never leaves `refs/heads`: a prefix with an empty, `.` or `..` component is refused, and a symbolic
    /// link met on the way (in the prefix or below it) is an error rather than followed, since the result names
    /// refs that jobs then re-sign and publish (issue #10, hole 3).
    public static func list(repo: FilePath, prefix: String? = nil) throws -> [String] {
        let heads = repo.string + "/refs/heads"
        let components = prefix.map { $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init) }
        if let components, let bad = components.first(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw RepoError.refused(path: prefix ?? "", reason: "ref prefix has the component '\(bad)'")
        }
        var start = heads
        for component in components ?? [] {
            start += "/" + component
            switch FileKind.at(FilePath(start)) {
            case .directory: continue
            // Named relative to the repository: job logs may be public.
            case .symlink: throw RepoError.refused(path: "refs/heads/" + (prefix ?? ""), reason: "is a symbolic link")
            default: return []
            }
        }
        var names: [String] = []
        try walk(directory: start, relative: prefix, into: &names)
        return names.sorted()
    }

    /// The extra collection ids `ref` is published under: the `<collectionID>.<X>` directories of `refs/mirrors`
    /// that hold a file for `ref` (`flatpak build-commit-from --extra-collection-id` writes them at a publish),
    /// sorted. Only directory names whose part after the prefix is `.`-separated, non-empty, alphanumeric elements
    /// (the rule of `add_extra_ids`) count: they go onto a command line.
    public static func extraCollectionIDs(repo: FilePath, collectionID: String, ref: String) -> [String] {
        let mirrors = repo.string + "/refs/mirrors"
        guard let entries = DirectoryWalk.entries(of: FilePath(mirrors)) else { return [] }
        let prefix = collectionID + "."
        return entries.filter { entry in
            guard entry.kind == .directory, entry.name.hasPrefix(prefix) else { return false }
            guard ExtraID.isValid(String(entry.name.dropFirst(prefix.count))) else { return false }
            if case .regular = FileKind.at(FilePath(mirrors + "/" + entry.name + "/" + ref)) { return true }
            return false
        }
        .map(\.name).sorted()
    }

    private static func walk(directory: String, relative: String?, into names: inout [String]) throws {
        guard let entries = DirectoryWalk.entries(of: FilePath(directory)) else {
            throw RepoError.io(path: directory, reason: "cannot list the directory")
        }
        for entry in entries {
            let path = directory + "/" + entry.name
            let name = relative.map { $0 + "/" + entry.name } ?? entry.name
            switch entry.kind {
            case .directory: try walk(directory: path, relative: name, into: &names)
            case .regular: names.append(name)
            case .symlink: throw RepoError.refused(path: "refs/heads/" + name, reason: "is a symbolic link")
            case .special(let kind): throw RepoError.refused(path: "refs/heads/" + name, reason: "is a \(kind)")
            }
        }
    }
}
