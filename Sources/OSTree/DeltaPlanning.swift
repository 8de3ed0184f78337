import FlatManagerCore
import Foundation
import SystemPackage

/// Which static deltas a repository should have and which it has (server.md §5.2–5.3).
public enum DeltaPlanning {
    /// The delta depth of one ref (§5.2 table).
    public static func depth(ofRef ref: String, config: RepoConfig) -> Int {
        if ref == "ostree-metadata" { return 0 }
        if ref.hasPrefix("appstream/") { return 1 }
        if ref.hasPrefix("appstream2/") { return config.appstreamDeltaDepth }
        let parts = ref.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "app" || parts[0] == "runtime" else { return 0 }
        let rule = config.deltas.first { rule in
            rule.id.contains { globMatches($0, parts[1]) }
                && (rule.arch.isEmpty || rule.arch.contains { globMatches($0, parts[2]) })
        }
        return rule?.depth ?? 0
    }

    /// Every delta wanted for the refs under `repo/refs/heads`: from scratch to each ref's commit, then from each
    /// ancestor present locally, up to the ref's depth.
    public static func wantedDeltas(repo: FilePath, config: RepoConfig) throws -> Set<Delta> {
        var wanted: Set<Delta> = []
        for ref in try Refs.list(repo: repo) {
            let depth = depth(ofRef: ref, config: config)
            guard depth > 0, let to = try Refs.read(repo: repo, ref: ref) else { continue }
            wanted.formUnion(try deltas(repo: repo, to: to, depth: depth))
        }
        return wanted
    }

    /// The walk of §5.2 for one target commit.
    static func deltas(repo: FilePath, to: String, depth: Int) throws -> [Delta] {
        guard let target = try loadCommitIfPresent(repo: repo, checksum: to) else { return [] }
        var result = [Delta(from: nil, to: to)]
        var current = target.parent
        var step = 1
        while step < depth, let from = current, let commit = try loadCommitIfPresent(repo: repo, checksum: from) {
            result.append(Delta(from: from, to: to))
            current = commit.parent
            step += 1
        }
        return result
    }

    /// The commit object, or `nil` if it is not in the repo (history is often pruned or never pulled).
    static func loadCommitIfPresent(repo: FilePath, checksum: String) throws -> CommitObject? {
        guard Hex.isChecksum(checksum) else { return nil }
        let path = repo.pushing(ObjectName(checksum: checksum, type: .commit).relativePath).string
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try CommitObject(data: [UInt8](data))
    }

    /// Every complete delta: a directory `deltas/<xx>/<rest>` whose name `<xx><rest>` decodes as a delta and which
    /// holds a `superblock`; others (`.tmp`) are ignored.
    ///
    /// A generation that was killed (its timeout, a shutdown) leaves its directory behind, empty or with some parts
    /// (ostree creates it first and writes the superblock last). Upstream counts such a directory as existing, so that
    /// delta is never generated again; here it is missing (see `scanDeltas`).
    public static func existingDeltas(repo: FilePath) throws -> Set<Delta> {
        scanDeltas(repo: repo).complete
    }

    /// One pass over `deltas/`: the complete deltas (`existingDeltas`) and the directories without a `superblock`,
    /// left by a generation that did not finish.
    public static func scanDeltas(repo: FilePath) -> (complete: Set<Delta>, incomplete: Set<Delta>) {
        let root = repo.string + "/deltas"
        var complete: Set<Delta> = []
        var incomplete: Set<Delta> = []
        for first in subdirectories(of: root) {
            for rest in subdirectories(of: root + "/" + first) {
                guard let delta = Delta(name: first + rest) else { continue }
                if case .regular = FileKind.at(FilePath("\(root)/\(first)/\(rest)/superblock")) {
                    complete.insert(delta)
                } else {
                    incomplete.insert(delta)
                }
            }
        }
        return (complete, incomplete)
    }

    /// Real subdirectories only: a symlinked delta directory is not ours to retire or count as complete.
    private static func subdirectories(of path: String) -> [String] {
        DirectoryWalk.subdirectories(of: FilePath(path))
    }

    /// The glob of §1.5: only `*` is special and it must consume at least one character; whole-string match.
    public static func globMatches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        // matches[j] = pattern[i...] matches text[j...], computed from the end of the pattern backwards.
        var matches = [Bool](repeating: false, count: text.count + 1)
        matches[text.count] = true
        for index in stride(from: pattern.count - 1, through: 0, by: -1) {
            var next = [Bool](repeating: false, count: text.count + 1)
            if pattern[index] == "*" {
                // "*" takes text[j..<k] for some k > j: true if any later position matches.
                var anyLater = false
                for position in stride(from: text.count, through: 0, by: -1) {
                    next[position] = anyLater
                    anyLater = anyLater || matches[position]
                }
            } else {
                for position in 0..<text.count where text[position] == pattern[index] {
                    next[position] = matches[position + 1]
                }
            }
            matches = next
        }
        return matches[0]
    }
}
