import Foundation

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

    public var description: String {
        switch self {
        case .alreadyExists(let path): return "Repository already exists at \(path)"
        case .io(let path, let reason): return "I/O error at \(path): \(reason)"
        case .notArchiveRepo(let path): return "\(path) is not an ostree repository in archive mode"
        case .unknownRef(let ref): return "Refspec '\(ref)' not found"
        case .missingObject(let name): return "Object \(name) not found"
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
    public static func createBuildRepository(at path: String, parent: String, collectionID: String?) throws {
        let files = FileManager.default
        let parentPath = absolute(parent)
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
    public static func read(repo: String, ref: String) throws -> String? {
        try readFile(repo + "/refs/heads/" + ref)
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
    public static func list(repo: String, prefix: String? = nil) throws -> [String] {
        let heads = repo + "/refs/heads"
        let start = prefix.map { heads + "/" + $0 } ?? heads
        var names: [String] = []
        try walk(directory: start, relative: prefix, into: &names)
        return names.sorted()
    }

    private static func walk(directory: String, relative: String?, into names: inout [String]) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        let entries: [String]
        do {
            entries = try files.contentsOfDirectory(atPath: directory)
        } catch {
            throw RepoError.io(path: directory, reason: "\(error)")
        }
        for entry in entries {
            let path = directory + "/" + entry
            let name = relative.map { $0 + "/" + entry } ?? entry
            guard files.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try walk(directory: path, relative: name, into: &names)
            } else {
                names.append(name)
            }
        }
    }
}
