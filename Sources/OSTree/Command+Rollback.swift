import SystemPackage

/// The commands of the safety net (issue #15): rollback and retention.
extension Command {
    /// Rollback: a new commit on `ref` (parent: its current head, timestamp: now) with the tree and metadata of
    /// `commit`, an earlier commit of the same ref. flatpak copies the commit's metadata (`xa.metadata`, sizes,
    /// end-of-life, token type), rewrites the ref and collection bindings, records the source in `xa.from_commit`
    /// and signs like a publish. A new commit rather than the ref moved back: flatpak clients refuse to update to
    /// an older timestamp.
    ///
    /// `extraCollectionIDs` (whole ids, `<collection-id>.<X>`): the extra collection ids the ref is published under
    /// (`Refs.extraCollectionIDs`). Without them the new commit is bound to the repository's collection id only, and
    /// the ref's `refs/mirrors/<collection-id>.<X>` copies stay at the commit rolled back from.
    public static func flatpakRollback(
        repo: FilePath, ref: String, commit: String, gpg: GPGSigning, extraCollectionIDs: [String] = []
    ) -> Command {
        var arguments = [
            "build-commit-from", "--timestamp=NOW", "--force", "--no-update-summary",
            "--subject=Roll back to \(commit)",
        ]
        arguments += extraCollectionIDs.map { "--extra-collection-id=\($0)" }
        arguments += gpg.arguments
        arguments += ["--src-repo=\(repo)", "--src-ref=\(commit)", repo.string, ref]
        return Command(executable: "flatpak", arguments: arguments)
    }
}
