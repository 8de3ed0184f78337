import SystemPackage

/// The history of a ref in a repository on disk: its head and the parents reachable from it.
public enum RefHistory {
    /// How many parents a rollback target may lie behind the head; a longer walk is refused rather than run
    /// without bound over a history someone made very long.
    public static let maximumDepth = 1000

    /// Where `commit` was found in the history of `ref`.
    public enum Position: Sendable, Equatable {
        /// The ref does not exist in the repository.
        case noSuchRef
        /// `commit` is the head itself.
        case head
        /// `commit` is `depth` parents behind the head (1 is the head's parent).
        case ancestor(depth: Int)
        /// `commit` is not among the head and its first `maximumDepth` parents that are still on disk (a pruned
        /// history ends where the commit objects are gone).
        case notInHistory
    }

    /// Walks the parents of `ref`'s head, reading commit objects from disk, until `commit` or the end of the
    /// history (a commit without parent, or whose parent object was pruned).
    public static func position(
        of commit: String, in ref: String, repo: FilePath, maximumDepth: Int = maximumDepth
    ) throws -> Position {
        guard let head = try Refs.read(repo: repo, ref: ref) else { return .noSuchRef }
        if head == commit { return .head }
        let local = try LocalRepo(path: repo)
        var current = head
        var depth = 0
        while depth < maximumDepth {
            guard let object = try? local.loadCommit(current), let parent = object.parent else { return .notInHistory }
            depth += 1
            if parent == commit {
                // The target's own object must be there too: its tree is what the rollback commits.
                return (try? local.loadCommit(parent)) == nil ? .notInHistory : .ancestor(depth: depth)
            }
            current = parent
        }
        return .notInHistory
    }
}
