import FlatManagerCore
import FlatManagerStore
import Logging
import ServiceLifecycle

/// Queues a prune of every repo with a `retention` once per `prune-every-hours` (ours, issue #15 part 3).
///
/// The prune is the ordinary prune job (kind 5) on the repo's queue, so it runs one at a time per repo, after
/// everything else ready there (priority 100), under the repo's write lock, with the depth `keep-commits` sets. The
/// schedule lives in the database (`Store.queueScheduledPrune`): several processes sharing it queue one prune per
/// period between them, and a restart does not prune again before the period is over.
public struct RetentionScheduler: Service {
    let store: Store
    let repos: [String: RepoConfig]
    let queue: any JobQueue
    let logger: Logger

    public init(store: Store, repos: [String: RepoConfig], queue: any JobQueue, logger: Logger) {
        self.store = store
        self.repos = repos.filter { $0.value.retention != nil }
        self.queue = queue
        self.logger = logger
    }

    /// How often the schedule is looked at: a tenth of the shortest period, between one second and a minute.
    var tick: Duration {
        let shortest = repos.values.compactMap { $0.retention?.intervalSeconds }.min() ?? 60
        return .seconds(min(60, max(1, shortest / 10)))
    }

    public func run() async throws {
        guard !repos.isEmpty else {
            // A service that returns would end the group: without retention it only waits for the shutdown.
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await round(now: .now())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
        }
    }

    /// Queues the prunes that are due at `now`; returns them.
    @discardableResult
    func round(now: Timestamp) async -> [Job] {
        var queued: [Job] = []
        for (name, repo) in repos.sorted(by: { $0.key < $1.key }) {
            guard let retention = repo.retention else { continue }
            do {
                guard
                    let job = try await store.queueScheduledPrune(
                        repo: name, intervalSeconds: retention.intervalSeconds, now: now)
                else { continue }
                logger.info("Retention: queued prune job \(job.id) of repo \(name)")
                queue.jobCreated(job)
                queued.append(job)
            } catch {
                logger.warning("Retention: cannot queue a prune of repo \(name): \(String(reflecting: error))")
            }
        }
        return queued
    }
}
