import Foundation
import SystemPackage

/// The ostree commands of the remote delta worker (server.md §5.6), which keeps its own repository.
extension Command {
    /// `ostree init --mode=bare-user --repo=<repo>`.
    public static func ostreeInitWorkerRepo(repo: FilePath) -> Command {
        Command(executable: "ostree", arguments: ["init", "--mode=bare-user", "--repo=\(repo)"])
    }

    /// `ostree --repo=<repo> remote add --if-not-exists --no-gpg-verify upstream <url>`: pulls always pass `--url`,
    /// the remote only has to exist.
    public static func ostreeAddUpstreamRemote(repo: FilePath, url: String) -> Command {
        Command(
            executable: "ostree",
            arguments: ["--repo=\(repo)", "remote", "add", "--if-not-exists", "--no-gpg-verify", "upstream", url])
    }

    /// `ostree --repo=<repo> pull --url=<url> upstream <commit>`.
    public static func ostreePullCommit(repo: FilePath, url: String, commit: String) -> Command {
        Command(executable: "ostree", arguments: ["--repo=\(repo)", "pull", "--url=\(url)", "upstream", commit])
    }

    /// `ostree prune --repo=<repo> --keep-younger-than=3 days ago` (the worker's daily clean-up).
    public static func ostreePruneWorkerRepo(repo: FilePath) -> Command {
        Command(executable: "ostree", arguments: ["prune", "--repo=\(repo)", "--keep-younger-than=3 days ago"])
    }
}
