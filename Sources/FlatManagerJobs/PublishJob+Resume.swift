import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// What lets a publish job run again after an interruption and end as an uninterrupted one (see Resume.swift).
extension PublishJob {
    /// The checkpoint holding the id of the update-repo job this publish queued.
    static let updateJobStep = "update-repo-job"

    /// The app and runtime refs of the build by whether the main repository already has them from this build
    /// (`xa.from_commit` of the main ref is the build repository's commit): `done` and `pending`, in ref order.
    func importState(refs: [BuildRef], buildDir: FilePath, repo: RepoConfig) -> (done: [String], pending: [String]) {
        var done: [String] = []
        var pending: [String] = []
        for ref in refs where ref.refName.hasPrefix("app/") || ref.refName.hasPrefix("runtime/") {
            // A ref missing in the build repository is left to the import, which reports it.
            let source = try? Refs.read(repo: buildDir, ref: ref.refName)
            if let source, Resume.commit(of: ref.refName, in: repo.path, importedFrom: source) != nil {
                done.append(ref.refName)
            } else {
                pending.append(ref.refName)
            }
        }
        return (done, pending)
    }

    /// Queues the repository update once: a resumed run reuses the job the interrupted one queued.
    func queueUpdate(repo: RepoConfig, in context: JobContext) async throws(JobError) -> Int32 {
        let store = context.store
        let jobID = context.job.id
        let recorded = try await context.db { try await store.checkpoints(jobID: jobID)[Self.updateJobStep] }
        if let recorded, let id = Int32(recorded) {
            await context.log("Repository update job \(id) was queued before the interruption")
            return id
        }
        let delay = context.environment.config.delayUpdateSecs
        let (isNew, update) = try await context.db {
            try await store.queueUpdateRepo(repo: repo.name, startingJob: jobID, delaySeconds: delay)
        }
        try await context.db {
            try await store.setCheckpoint(jobID: jobID, step: Self.updateJobStep, value: "\(update.id)")
        }
        await context.log(updateQueuedLine(isNew: isNew, jobID: update.id, delay: delay))
        return update.id
    }

    /// For a run resumed after the interruption of one that already moved the build on: the result when the build
    /// is Published by this job, the recorded failure when this job failed it; nil when the work is still to do.
    func finishedEarlier(_ build: Build, refs: [BuildRef], in context: JobContext) async throws(JobError)
        -> PublishResult?
    {
        guard build.publishJobID == context.job.id else { return nil }
        switch build.publishedState {
        case .published:
            await context.log("The build was published before the interruption")
            let repo = try context.environment.repoConfig(build.repo)
            var published = RefCommits()
            for ref in refs where ref.refName.hasPrefix("app/") || ref.refName.hasPrefix("runtime/") {
                published.append(ref: ref.refName, commit: try readRef(repo: repo.path, ref: ref.refName))
            }
            return PublishResult(refs: published, updateRepoJob: try await queueUpdate(repo: repo, in: context))
        case .failed where build.publishedStateReason != Store.restartedDuringPublishReason:
            throw .failedBeforeInterruption(build.publishedStateReason ?? "Publish failed")
        default:
            return nil
        }
    }

    /// Removes screenshot staging directories an interrupted run left below the build's `tmp/` (only this job
    /// publishes this build, so none is in use). Real directories only; a link is removed, never followed.
    func removeStaleStagingDirectories(buildDir: String) {
        let tmp = buildDir + "/tmp"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: tmp) else { return }
        for name in names where name.hasPrefix(".screenshots-") {
            try? FileManager.default.removeItem(atPath: "\(tmp)/\(name)")
        }
    }
}
