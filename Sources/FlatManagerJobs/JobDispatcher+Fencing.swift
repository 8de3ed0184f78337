import FlatManagerCore
import FlatManagerStore
import Foundation

/// Fencing of a running job (issue 14 point 2; the store side is in Store+Leases.swift).
///
/// While a job's body runs, a watcher beside it asks the database every `fenceCheckInterval` whether the run still
/// holds its lease. Once it does not (the lease expired, e.g. the process was stopped past it, or another process
/// took the job over), the body is cancelled: the command runner kills the running child's process group, and
/// every later step finds the lease gone (`JobContext.ensureLease`, the fenced store transactions, the
/// conditional log appends) and stops without writing. The final status is written only with the lease.
extension JobDispatcher {
    /// How often a running job's lease is verified: a third of the lease, at most a second.
    var fenceCheckInterval: Duration { .milliseconds(min(1000, max(100, leaseSeconds * 1000 / 3))) }

    /// Runs the handler under the lease's fence and returns its results as JSON; throws `lostLease` as soon as the
    /// watcher finds the lease gone.
    func runFenced(_ handler: any JobHandler, in context: JobContext) async throws -> String {
        guard let lease = context.lease else {
            return try JobResultEncoder.json(try await handler.run(in: context))
        }
        let store = context.store
        let interval = fenceCheckInterval
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await Store.$jobFence.withValue(lease) {
                    try await Self.withRepoLock(for: context) {
                        try JobResultEncoder.json(try await handler.run(in: context))
                    }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    // A database error is not a lost lease: the next round asks again.
                    if (try? await store.holdsLease(lease)) == false { throw JobError.lostLease(lease.description) }
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let results = first else {
                throw JobError.lostLease(lease.description)
            }
            return results
        }
    }

    /// Runs `body` holding the write lock of the main repository a repo-queue job writes (publish, update-repo,
    /// republish, prune); other jobs run it as is.
    static func withRepoLock<T: Sendable>(for context: JobContext, _ body: () async throws -> T) async throws -> T {
        guard context.job.kind.runsOnRepoQueue, let name = context.job.repo,
            let repo = context.environment.config.repos[name]
        else { return try await body() }
        return try await RepoLock.with(repo, store: context.store, body)
    }

    /// Writes the final status and results, with the lease when there is one, and the webhook deliveries the job's
    /// end causes in the same transaction.
    func finish(
        _ context: JobContext, status: JobStatus, results: String, webhooks: [WebhookDelivery.Draft] = []
    ) async throws {
        guard let lease = context.lease else {
            try await context.store.finishJob(id: context.job.id, status: status, results: results, webhooks: webhooks)
            return
        }
        guard
            try await context.store.finishJob(
                id: context.job.id, status: status, results: results, lease: lease, webhooks: webhooks)
        else {
            throw JobError.lostLease(lease.description)
        }
    }
}
