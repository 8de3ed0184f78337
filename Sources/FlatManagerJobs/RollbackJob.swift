import FlatManagerCore
import FlatManagerStore
import OSTree

/// Makes the content of an earlier commit of a ref current again (ours, issue #15 part 2), then queues a repository
/// update like a publish does.
///
/// The rollback is a new commit on top of the current head (timestamp now, the earlier commit's tree and metadata,
/// see `Command.flatpakRollback`): flatpak clients refuse to update to an older timestamp, so moving the ref back
/// would strand every installation that already has the newer commit. The commit must lie in the ref's history
/// (`RefHistory`), checked again here under the repository's write lock (the dispatcher holds `RepoLock` for every
/// repo-queue job) because a prune may have removed it since the request was accepted.
///
/// Resumable: the head before the commit is recorded as a checkpoint; a resumed run that finds the head moved away
/// from it made its commit before the interruption (the repo's jobs run one at a time, nothing else moved it).
struct RollbackJob: JobHandler {
    static let kind = JobKind.rollback
    let ref: String
    let commit: String

    func run(in context: JobContext) async throws(JobError) -> RollbackResult {
        guard let repoName = context.job.repo else { throw .invalidJob("Rollback job requires a repo") }
        // Defence in depth: the API checks both, but they reach a command line here.
        guard RefName(ref)?.id != nil else { throw .invalidJob("Invalid ref_name \(ref)") }
        guard ObjectName("\(commit).commit") != nil else { throw .invalidJob("Invalid commit \(commit)") }
        let env = context.environment
        let repo = try env.repoConfig(repoName)
        let store = context.store
        let jobID = context.job.id
        let step = "rollback-base"
        let checkpoints = try await context.db { try await store.checkpoints(jobID: jobID) }
        let recorded = checkpoints[step]
        let head = try readRef(repo: repo.path, ref: ref)
        if let recorded, recorded != head {
            await context.log("The rollback commit \(head) was made before the interruption")
        } else {
            try checkHistory(repo: repo)
            if recorded == nil {
                try await context.db { try await store.setCheckpoint(jobID: jobID, step: step, value: head) }
            }
            await context.log("Rolling back \(ref) in repo \(repo.name) to the content of \(commit)")
            // The extra collection ids the ref is published under get the rollback too (their mirror refs would
            // otherwise keep serving the commit rolled back from).
            let extraIDs =
                repo.collectionID.map { Refs.extraCollectionIDs(repo: repo.path, collectionID: $0, ref: ref) } ?? []
            if !extraIDs.isEmpty { await context.log("Also for: \(extraIDs.joined(separator: ", "))") }
            try await context.run(
                .flatpakRollback(
                    repo: repo.path, ref: ref, commit: commit, gpg: env.signing(for: repo),
                    extraCollectionIDs: extraIDs))
        }
        let newHead = try readRef(repo: repo.path, ref: ref)
        await context.log("\(ref) is now \(newHead) (parent \(head == newHead ? "unchanged" : head))")
        let delay = env.config.delayUpdateSecs
        let (isNew, update) = try await context.db {
            try await store.queueUpdateRepo(repo: repo.name, startingJob: jobID, delaySeconds: delay)
        }
        await context.log(updateQueuedLine(isNew: isNew, jobID: update.id, delay: delay))
        return RollbackResult(
            refs: RefCommits([.init(ref: ref, commit: newHead)]), rolledBackTo: commit, updateRepoJob: update.id)
    }

    /// Fails the job unless `commit` is the head or one of its parents still on disk.
    func checkHistory(repo: RepoConfig) throws(JobError) {
        let position: RefHistory.Position
        do {
            position = try RefHistory.position(of: commit, in: ref, repo: repo.path)
        } catch {
            throw .io("Cannot read the history of \(ref) in repo \(repo.name)", reason: "\(error)")
        }
        switch position {
        case .noSuchRef:
            throw .missingRef(ref: ref, repo: repo.name)
        case .notInHistory:
            throw .refused(
                "rollback of \(ref)",
                reason: "commit \(commit) is not in its history (within \(RefHistory.maximumDepth) commits)")
        case .head, .ancestor:
            return
        }
    }
}
