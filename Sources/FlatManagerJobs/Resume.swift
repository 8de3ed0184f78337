import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

// Resumable jobs
//
// A commit, publish, check, republish or update-repo job interrupted by a crash, a stop past its timeout or a lost
// lease goes back to New (`Store.recoverInterruptedJobs`, at most `job-max-resumes` times) and runs again from the
// start, on this process or another. Each step that must not happen twice is recognised when it already happened:
// `flatpak build-commit-from` records the commit it copied in the new commit's metadata (`xa.from_commit`), so
// a build repository's ref made from the uploaded commit, or a main repository's ref made from the build's commit,
// is not made again; steps that cannot be recognised on disk record a checkpoint in the database (the update-repo
// job a publish queued); every other step (flatpakref files, appstream checkouts, screenshots, summaries) writes
// the same result when repeated. A job whose build already reached the state the job moves it to was interrupted
// between that transaction and the end of the job: it only reports its result.

enum Resume {
    /// The key `flatpak build-commit-from` stores the source commit under.
    static let sourceCommitKey = "xa.from_commit"

    /// The commit `ref` points at in `repo`, when `flatpak build-commit-from` made it from `source`; nil when the
    /// ref is missing or points at anything else.
    static func commit(of ref: String, in repo: FilePath, importedFrom source: String) -> String? {
        guard let commit = try? Refs.read(repo: repo, ref: ref),
            let object = try? LocalRepo(path: repo).loadCommit(commit),
            object.string(sourceCommitKey) == source
        else { return nil }
        return commit
    }

}
