import FlatManagerCore
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import Logging
import ServiceLifecycle

/// Runs queued jobs: one serial loop per repository, `commit-workers` loops for the global queue (see the theory of
/// operations in JobHandler.swift). On graceful shutdown it stops claiming and waits for running jobs to finish.
public final class JobDispatcher: Service, Sendable {
    let environment: JobEnvironment
    /// Identifies this process as a lease owner: `host:pid:start`.
    public let owner: String
    let leaseSeconds: Int
    let pollInterval: Duration
    /// Kicks, per queue: a kicked loop claims at once instead of at its next poll.
    let wakeups: ChangeSignals<Store.QueueSelector>
    /// Job counts, in-progress gauges and durations (server.md §8).
    public let metrics: ServerMetrics

    public init(
        environment: JobEnvironment, owner: String, leaseSeconds: Int = 60, pollInterval: Duration = .seconds(10),
        metrics: ServerMetrics = ServerMetrics()
    ) {
        self.environment = environment
        self.metrics = metrics
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.pollInterval = pollInterval
        self.wakeups = ChangeSignals()
    }

    /// Wakes the loops of a queue now instead of at their next poll (called after the API creates a job).
    public func kick(_ queue: Store.QueueSelector) {
        wakeups.signal(queue)
        // A kick follows the creation of a job: the queue gauge goes up now, not at the sampler's next round.
        Task { await self.refreshQueueGauge() }
    }

    /// Sets `flat_manager_jobs_queued` from the New jobs in the database. Called when a job was created (every
    /// creation is followed by a kick) and when one was picked, which is when upstream increments and decrements it;
    /// counting instead of incrementing also covers jobs queued before this process started.
    func refreshQueueGauge() async {
        do {
            let waiting = try await environment.store.activeJobs().filter { $0.status == .new }
            var depth: [[String]: Double] = [:]
            for job in waiting {
                depth[[ServerMetrics.kindLabel(job.kind), ServerMetrics.repoLabel(job.repo)], default: 0] += 1
            }
            metrics.jobsQueued.replaceAll(depth, keepingOthersAtZero: true)
        } catch {
            environment.logger.warning("Cannot count the queued jobs: \(String(reflecting: error))")
        }
    }

    public func run() async throws {
        let queues: [(Store.QueueSelector, Bool)] =
            Array(repeating: (.global, true), count: environment.config.commitWorkers)
            + environment.config.repoNames.map { (.repo($0), false) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.renewLeasesUntilCancelled() }
            try await withThrowingTaskGroup(of: Void.self) { workers in
                for (queue, concurrent) in queues {
                    workers.addTask { await self.work(queue: queue, allowConcurrent: concurrent) }
                }
                try await workers.waitForAll()
            }
            // Every worker has finished its current job: leases need no more renewal.
            group.cancelAll()
        }
    }

    func work(queue: Store.QueueSelector, allowConcurrent: Bool) async {
        let logger = environment.logger
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Read before the claim: a kick that comes while the claim finds nothing ends the wait below at once.
            let seen = wakeups.generation(of: queue)
            do {
                if let claimed = try await environment.store.claimNextJobLease(
                    queue: queue, owner: owner, leaseSeconds: leaseSeconds, allowConcurrent: allowConcurrent)
                {
                    await refreshQueueGauge()
                    await execute(claimed)
                    continue
                }
            } catch {
                logger.error("Cannot claim a job for \(queue): \(String(reflecting: error))")
            }
            await waitForWork(queue, after: seen)
        }
    }

    /// Sleeps until the poll interval passes, the queue is kicked after `seen` (the kick count read before the last
    /// claim), or shutdown begins. A kick wakes the loop at once: a job queued by a request or by another job in this
    /// process starts without delay; the poll finds jobs queued by other processes and delayed ones.
    func waitForWork(_ queue: Store.QueueSelector, after seen: UInt64) async {
        guard !Task.isShuttingDownGracefully else { return }
        let wakeups = wakeups
        let interval = pollInterval
        await withGracefulShutdownHandler {
            _ = await wakeups.wait(for: queue, after: seen, timeout: interval)
        } onGracefulShutdown: {
            // The loop checks for shutdown when it wakes: it stops claiming at once.
            wakeups.signal(queue)
        }
    }

    /// Renews this process's leases, and breaks jobs whose owner died or whose lease ran out (another server
    /// process on the same database that crashed), as start-up recovery does.
    func renewLeasesUntilCancelled() async throws {
        let store = environment.store
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(max(1, leaseSeconds / 3)))
            if Task.isCancelled { return }
            do {
                try await store.renewLeases(owner: owner, leaseSeconds: leaseSeconds)
                let repos = try await store.recoverInterruptedJobs(
                    owner: owner, isOwnerAlive: Self.isOwnerAlive, resetPurgingBuilds: false,
                    maxResumes: environment.config.jobMaxResumes)
                for repo in repos { kick(.repo(repo)) }
            } catch {
                environment.logger.error("Cannot renew job leases: \(String(reflecting: error))")
            }
        }
    }

    /// Runs one claimed job to its end and records the outcome; it is not interrupted by shutdown. Every log line
    /// written meanwhile carries the job's metadata (job id, kind, repo, build id).
    public func execute(_ claimed: ClaimedJob) async {
        await execute(claimed.job, lease: claimed.lease)
    }

    /// Runs a job claimed without a lease (tests that claim by hand); nothing is fenced.
    public func execute(_ job: Job) async {
        await execute(job, lease: nil)
    }

    func execute(_ job: Job, lease: JobLease?) async {
        let metadata = Self.logMetadata(for: job)
        var logger = environment.logger
        for (key, value) in metadata { logger[metadataKey: key] = value }
        let jobEnvironment = environment.withLogger(logger)
        await LogContext.with(metadata) { await self.execute(job, lease: lease, in: jobEnvironment) }
        if job.kind == .commit || job.kind == .check { kick(.global) }
        if let repo = job.repo { kick(.repo(repo)) }
    }

    func execute(_ job: Job, lease: JobLease?, in jobEnvironment: JobEnvironment) async {
        let context = JobContext(job: job, environment: jobEnvironment, lease: lease)
        let start = ContinuousClock.now
        metrics.jobStarted(job)
        var status = JobStatus.ended
        defer { metrics.jobFinished(job, status: status, seconds: (ContinuousClock.now - start).fractionalSeconds) }
        do {
            let handler = try JobHandlers.handler(for: job)
            let baseline = await webhookBaseline(for: job)
            let results = try await runFenced(handler, in: context)
            let webhooks = await webhookDrafts(forEnded: job, results: results, baseline: baseline)
            try await finish(context, status: .ended, results: results, webhooks: webhooks)
            await recordWebhookBaseline(baseline)
        } catch JobError.lostLease(let lease) {
            status = .broken
            jobEnvironment.logger.warning("#\(job.id): lost its lease (\(lease)); stopped without writing")
        } catch {
            status = .broken
            let message = (error as? JobError)?.description ?? String(reflecting: error)
            await context.log("Job failed: \(message)")
            do {
                try await finish(
                    context, status: .broken, results: "{\"error-message\":\(JSONText.string(message))}",
                    webhooks: await webhookDrafts(forBroken: job, message: message))
            } catch {
                jobEnvironment.logger.error("#\(job.id): cannot record the failure: \(String(reflecting: error))")
            }
        }
    }

    /// A job's log metadata, so that every line it causes in the server log can be found by any of them.
    static func logMetadata(for job: Job) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "job_id": "\(job.id)", "job_kind": "\(ServerMetrics.kindLabel(job.kind))",
        ]
        if let repo = job.repo { metadata["repo"] = "\(repo)" }
        switch JobContents(kind: job.kind, json: job.contents) {
        case .commit(let build, _, _, _), .publish(let build, _), .check(let build, _):
            metadata["build_id"] = "\(build)"
        case .updateRepo(let repo):
            metadata["repo"] = "\(repo)"
        default:
            break
        }
        return metadata
    }

    /// The lease owner name of this process.
    public static func processOwner() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host):\(getpid()):\(Int64(Date().timeIntervalSince1970 * 1000))"
    }

    /// Whether a lease owner (`host:pid:start`) may still be running; owners on other hosts are assumed alive (their
    /// leases expire instead).
    public static func isOwnerAlive(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]) else { return false }
        guard String(parts[0]) == ProcessInfo.processInfo.hostName else { return true }
        if pid == getpid() { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return cmdline.contains("flat-manager")
    }
}

extension JobEnvironment {
    /// The same environment with another logger (a job's, carrying its metadata).
    func withLogger(_ logger: Logger) -> JobEnvironment {
        var copy = self
        copy.logger = logger
        return copy
    }
}
