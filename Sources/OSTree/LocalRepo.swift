import Foundation
import SystemPackage

/// What a push must consider uploading for a set of commits (client.md A.7.2 steps 4 and 6).
public struct PushClosure: Sendable, Equatable {
    /// Commits, dirtrees and dirmetas, each once, in walk order (commit, then its directories depth first).
    public var metadata: [ObjectName]
    /// The `.filez` objects of every dirtree, each once.
    public var files: [ObjectName]
    /// Dirtree checksum → its files, so a client can ask only about the files of trees the server lacks.
    public var filesByTree: [String: [ObjectName]]

    public init(metadata: [ObjectName] = [], files: [ObjectName] = [], filesByTree: [String: [ObjectName]] = [:]) {
        self.metadata = metadata
        self.files = files
        self.filesByTree = filesByTree
    }
}

/// A local archive-mode repository read directly from disk (no process per object), for the client's push.
public struct LocalRepo: Sendable {
    /// The repository directory, as given.
    public let path: FilePath

    /// Opens `path`; throws unless its `config` says `mode=archive` or `mode=archive-z2`.
    public init(path: FilePath) throws {
        self.path = path
        let configPath = path.appending("config").string
        guard let config = try? String(contentsOfFile: configPath, encoding: .utf8) else {
            throw RepoError.notArchiveRepo(path: path.string)
        }
        let mode = config.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("mode=") || $0.hasPrefix("mode ") }
            .map { $0.split(separator: "=", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
        guard mode == "archive" || mode == "archive-z2" else { throw RepoError.notArchiveRepo(path: path.string) }
    }

    /// Every ref under `refs/heads`, with its commit.
    public func refs() throws -> [String: String] {
        var result: [String: String] = [:]
        for ref in try Refs.list(repo: path) {
            if let commit = try Refs.read(repo: path, ref: ref) { result[ref] = commit }
        }
        return result
    }

    /// A commit id as is (if its object exists), else the commit of `refs/heads/<ref>`, else of a remote ref
    /// `remote:ref` (`refs/remotes/<remote>/<ref>`).
    public func resolve(_ refOrCommit: String) throws -> String {
        if Hex.isChecksum(refOrCommit) {
            guard
                FileManager.default.fileExists(
                    atPath: objectPath(ObjectName(checksum: refOrCommit, type: .commit)).string)
            else { throw RepoError.unknownRef(refOrCommit) }
            return refOrCommit
        }
        if let commit = try Refs.read(repo: path, ref: refOrCommit) { return commit }
        if let colon = refOrCommit.firstIndex(of: ":") {
            let remote = refOrCommit[..<colon]
            let ref = refOrCommit[refOrCommit.index(after: colon)...]
            if let commit = try Refs.readFile(path.string + "/refs/remotes/\(remote)/\(ref)") { return commit }
        }
        throw RepoError.unknownRef(refOrCommit)
    }

    /// The absolute or relative (like `path`) location of an object file.
    public func objectPath(_ name: ObjectName) -> FilePath { path.pushing(name.relativePath) }

    /// Loads and parses `<checksum>.commit`.
    public func loadCommit(_ checksum: String) throws -> CommitObject {
        try CommitObject(data: try read(ObjectName(checksum: checksum, type: .commit)))
    }

    /// Loads and parses `<checksum>.dirtree`.
    public func loadDirTree(_ checksum: String) throws -> DirTree {
        try DirTree(data: try read(ObjectName(checksum: checksum, type: .dirtree)))
    }

    /// The metadata and file objects reachable from `commits` (detached `.commitmeta` never included).
    public func closure(ofCommits commits: [String]) throws -> PushClosure {
        var walker = ClosureWalker(repo: self)
        for commit in commits {
            guard walker.visit(ObjectName(checksum: commit, type: .commit)) else { continue }
            let object = try loadCommit(commit)
            try walker.walk(tree: object.rootTree, meta: object.rootMeta)
        }
        return walker.closure
    }

    /// The parts of the from-scratch static delta of exactly `commit` (client.md A.9), named for upload
    /// (`<encoded>.<part>.delta`) with their paths; `superblock` first, then parts by number. Empty if none.
    public func staticDeltaParts(forCommit commit: String) throws -> [(fileName: String, path: FilePath)] {
        let delta = Delta(from: nil, to: commit)
        let directory = path.pushing(delta.directory)
        // Parts are regular files; a symlink (to a file or a directory elsewhere) is not followed into an upload.
        guard FileKind.at(directory) == .directory else { return [] }
        let parts = DirectoryWalk.regularFiles(in: directory).filter { DeltaPartName.isPart($0[...]) }.sorted(
            by: Self.partOrder)
        return parts.map { (fileName: "\(delta.name).\($0).delta", path: directory.appending($0)) }
    }

    /// `superblock` first, then numeric order.
    static func partOrder(_ lhs: String, _ rhs: String) -> Bool {
        if lhs == "superblock" || rhs == "superblock" { return lhs == "superblock" && rhs != "superblock" }
        return (Int(lhs) ?? Int.max, lhs) < (Int(rhs) ?? Int.max, rhs)
    }

    private func read(_ name: ObjectName) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: objectPath(name).string) else {
            throw RepoError.missingObject(name.fileName)
        }
        return [UInt8](data)
    }
}

/// Depth-first walk over directories that remembers what it has seen.
private struct ClosureWalker {
    let repo: LocalRepo
    var seen: Set<ObjectName> = []
    var seenFiles: Set<ObjectName> = []
    var closure = PushClosure()

    init(repo: LocalRepo) { self.repo = repo }

    /// Records `name` as metadata; `false` if it was already recorded.
    mutating func visit(_ name: ObjectName) -> Bool {
        guard seen.insert(name).inserted else { return false }
        closure.metadata.append(name)
        return true
    }

    mutating func walk(tree: String, meta: String) throws {
        _ = visit(ObjectName(checksum: meta, type: .dirmeta))
        guard visit(ObjectName(checksum: tree, type: .dirtree)) else { return }
        let dirtree = try repo.loadDirTree(tree)
        var treeFiles: [ObjectName] = []
        var treeFileSet: Set<ObjectName> = []
        for file in dirtree.files {
            let name = ObjectName(checksum: file.checksum, type: .filez)
            if treeFileSet.insert(name).inserted { treeFiles.append(name) }
            if seenFiles.insert(name).inserted { closure.files.append(name) }
        }
        closure.filesByTree[tree] = treeFiles
        for directory in dirtree.directories {
            try walk(tree: directory.tree, meta: directory.meta)
        }
    }
}
