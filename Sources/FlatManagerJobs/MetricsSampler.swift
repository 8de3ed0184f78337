import Dispatch
import FlatManagerCore
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import Logging
import OSTree
import ServiceLifecycle
import Synchronization
import SystemPackage

/// Computes the expensive metrics in the background, every `interval`: queue depth and the age of the oldest
/// waiting job by kind and repo, summary size and static delta count per repo, and disk usage per repo and of the
/// build area. A scrape of `/metrics` only reads what the last round left.
public struct MetricsSampler: Service {
    let store: Store
    let config: Config
    let metrics: ServerMetrics
    let interval: Duration
    let logger: Logger

    public init(store: Store, config: Config, metrics: ServerMetrics, interval: Duration, logger: Logger) {
        self.store = store
        self.config = config
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // The jobs table has no creation time, so a job's waiting age counts from the first round that saw it.
        var firstSeen: [Int32: ContinuousClock.Instant] = [:]
        var nextDiskSample = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                firstSeen = try await sampleQueue(firstSeen: firstSeen)
            } catch {
                logger.warning("Cannot sample the job queue: \(String(reflecting: error))")
            }
            if ContinuousClock.now >= nextDiskSample {
                // Walking a repository of millions of objects takes seconds of a core: never more than a twentieth
                // of the time, and a shutdown ends a walk at once.
                let started = ContinuousClock.now
                await cancelWhenGracefulShutdown { await sampleDisk() }
                nextDiskSample = ContinuousClock.now + max(interval, (ContinuousClock.now - started) * 20)
            }
            await samplePruneReports()
            metrics.lastSample.set([], Date().timeIntervalSince1970.rounded())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Sets the queued-jobs and oldest-age gauges from the New jobs; returns the updated first-seen times.
    func sampleQueue(firstSeen: [Int32: ContinuousClock.Instant]) async throws -> [Int32: ContinuousClock.Instant] {
        let now = ContinuousClock.now
        let waiting = try await store.activeJobs().filter { $0.status == .new }
        var seen: [Int32: ContinuousClock.Instant] = [:]
        var depth: [[String]: Double] = [:]
        var oldest: [[String]: Double] = [:]
        for job in waiting {
            let since = firstSeen[job.id] ?? now
            seen[job.id] = since
            let labels = [ServerMetrics.kindLabel(job.kind), ServerMetrics.repoLabel(job.repo)]
            depth[labels, default: 0] += 1
            oldest[labels] = max(oldest[labels] ?? 0, (now - since).fractionalSeconds)
        }
        metrics.jobsQueued.replaceAll(depth, keepingOthersAtZero: true)
        metrics.queueOldestAge.replaceAll(oldest)
        return seen
    }

    /// The dry-run report of the latest successful prune of each repo with a `retention` (issue #15).
    func samplePruneReports() async {
        guard config.repos.values.contains(where: { $0.retention != nil }) else { return }
        let results: [String: String]
        do {
            results = try await store.latestPruneResults()
        } catch {
            logger.warning("Cannot sample the prune reports: \(String(reflecting: error))")
            return
        }
        var objects: [[String]: Double] = [:]
        var bytes: [[String]: Double] = [:]
        for (repo, text) in results where config.repos[repo]?.retention != nil {
            guard let report = PruneReport(resultsJSON: text) else { continue }
            objects[[repo]] = Double(report.objects)
            bytes[[repo]] = Double(report.bytes)
        }
        metrics.prunableObjects.replaceAll(objects)
        metrics.prunableBytes.replaceAll(bytes)
    }

    /// Summary sizes, delta counts and disk usage, walked on a dispatch queue so that the cooperative pool that
    /// serves requests is not blocked by a large tree. Cancelling the task ends the walk; nothing is set then.
    func sampleDisk() async {
        let repos = config.repos.map { ($0.key, $0.value.path) }
        let buildArea = config.buildRepoBase
        let stop = StopFlag()
        let measured = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DiskFigures?, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    continuation.resume(
                        returning: DiskFigures.measure(repos: repos, buildArea: buildArea, until: stop.isRaised))
                }
            }
        } onCancel: {
            stop.raise()
        }
        guard let figures = measured else { return }
        metrics.summarySize.replaceAll(figures.summaryBytes.mapKeysToLabels())
        metrics.staticDeltas.replaceAll(figures.deltaCounts.mapKeysToLabels())
        var usage: [[String]: Double] = [["build-area", ""]: figures.buildAreaBytes]
        for (repo, bytes) in figures.repoBytes { usage[["repo", repo]] = bytes }
        metrics.diskUsage.replaceAll(usage)
    }
}

/// A flag a walk on another thread reads between directories (a class: both sides share the one flag).
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .relaxed) }

    func isRaised() -> Bool { raised.load(ordering: .relaxed) }
}

/// One round of file-system figures.
struct DiskFigures: Sendable {
    var summaryBytes: [String: Double] = [:]
    var deltaCounts: [String: Double] = [:]
    var repoBytes: [String: Double] = [:]
    var buildAreaBytes: Double = 0

    /// The figures, or nil when `stop` ended a walk. Each tree is walked once without listing it
    /// (`DirectoryWalk.totals`); symbolic links are not followed (a link to `/` would make every sample walk the
    /// whole machine).
    static func measure(
        repos: [(String, FilePath)], buildArea: FilePath, until stop: () -> Bool = { false }
    ) -> DiskFigures? {
        var figures = DiskFigures()
        // A tree that cannot be opened counts as empty; a walk ended by `stop` ends the round.
        func totals(_ path: FilePath, named: String? = nil) -> TreeTotals? {
            DirectoryWalk.totals(below: path, countingFilesNamed: named, until: stop) ?? (stop() ? nil : TreeTotals())
        }
        for (name, path) in repos {
            var summary = stat()
            figures.summaryBytes[name] =
                lstat(path.appending("summary").string, &summary) == 0 ? Double(summary.st_size) : 0
            guard let deltas = totals(path.appending("deltas"), named: "superblock"), let repo = totals(path) else {
                return nil
            }
            figures.deltaCounts[name] = Double(deltas.named)
            figures.repoBytes[name] = Double(repo.bytes)
        }
        guard let buildArea = totals(buildArea) else { return nil }
        figures.buildAreaBytes = Double(buildArea.bytes)
        return figures
    }
}

extension Dictionary where Key == String, Value == Double {
    fileprivate func mapKeysToLabels() -> [[String]: Double] {
        [[String]: Double](uniqueKeysWithValues: map { ([$0.key], $0.value) })
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
