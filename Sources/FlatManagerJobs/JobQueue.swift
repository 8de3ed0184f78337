import FlatManagerCore
import FlatManagerStore

/// What the API sees of the job system: it inserts jobs through the store and hands each new one here. Which queue
/// a job runs on follows from its kind (server.md §3), so the API never picks one.
public protocol JobQueue: Sendable {
    /// Wakes the workers of the queue `job` runs on (it was just inserted into the database).
    func jobCreated(_ job: Job)
}

extension Store.QueueSelector {
    /// The queue a job runs on: publish, update-repo, republish and prune one at a time per repository, commit and
    /// check jobs of any build on the global queue.
    public static func of(_ job: Job) -> Store.QueueSelector {
        if job.kind.runsOnRepoQueue, let repo = job.repo { return .repo(repo) }
        return .global
    }
}

extension JobDispatcher: JobQueue {
    public func jobCreated(_ job: Job) {
        kick(.of(job))
    }
}
