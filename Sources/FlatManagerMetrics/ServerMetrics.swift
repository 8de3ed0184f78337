import FlatManagerCore
import Foundation

/// Every metric the server exposes on `GET /metrics`, created once at start-up and passed down as a value.
///
/// The four `flat_manager_job*` families are upstream 0.5's names, labels, help texts and buckets (server.md §8);
/// the rest are ours. Everything expensive (queue, summary, delta and disk figures) is set by `MetricsSampler` in
/// the background; a scrape only formats what is already there.
public struct ServerMetrics: Sendable {
    public let registry: MetricsRegistry

    // Upstream 0.5.
    public let jobsFinished: CounterMetric
    public let jobsInProgress: GaugeMetric
    public let jobsQueued: GaugeMetric
    public let jobDuration: HistogramMetric

    // Ours: HTTP.
    public let httpRequests: CounterMetric
    public let httpDuration: HistogramMetric
    /// Requests for plain repository files answered on the event loop, without the router (issue #13).
    public let httpFastPath: CounterMetric
    public let uploadBytes: CounterMetric
    public let uploadObjects: CounterMetric
    public let uploadRejected: CounterMetric
    public let missingObjectsCalls: CounterMetric
    public let missingObjectsWanted: CounterMetric

    // Ours: sampled.
    public let queueOldestAge: GaugeMetric
    public let summarySize: GaugeMetric
    public let staticDeltas: GaugeMetric
    public let diskUsage: GaugeMetric
    public let lastSample: GaugeMetric
    /// Ours (issue #15): what the latest prune's dry run of each repo with a `retention` said would go.
    public let prunableObjects: GaugeMetric
    public let prunableBytes: GaugeMetric

    // Ours: webhooks.
    public let webhookAttempts: CounterMetric

    /// Upstream's job duration buckets, in seconds.
    public static let jobBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600]
    static let httpBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    public init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        let r = registry
        jobsFinished = r.counter(
            "flat_manager_jobs_total", help: "Total number of finished jobs.", labels: ["kind", "status", "repo"])
        jobsInProgress = r.gauge(
            "flat_manager_jobs_in_progress", help: "Current number of jobs being processed.", labels: ["kind", "repo"])
        jobsQueued = r.gauge(
            "flat_manager_jobs_queued", help: "Current number of queued jobs.", labels: ["kind", "repo"])
        jobDuration = r.histogram(
            "flat_manager_job_duration_seconds", help: "Duration of finished jobs in seconds.",
            labels: ["kind", "status", "repo"], buckets: Self.jobBuckets)
        httpRequests = r.counter(
            "flat_manager_http_requests", help: "HTTP requests answered, by route template and status",
            labels: ["method", "route", "status"])
        httpDuration = r.histogram(
            "flat_manager_http_request_duration_seconds", help: "Time to answer an HTTP request",
            labels: ["method", "route"], buckets: Self.httpBuckets)
        httpFastPath = r.counter(
            "flat_manager_http_fast_path_responses",
            help: "Requests for plain repository files answered on the event loop, without the router "
                + "(also counted in flat_manager_http_requests)",
            labels: [])
        uploadBytes = r.counter(
            "flat_manager_upload_bytes", help: "Bytes of objects and delta parts accepted by uploads", labels: [])
        uploadObjects = r.counter(
            "flat_manager_upload_objects", help: "Objects and delta parts accepted by uploads", labels: [])
        uploadRejected = r.counter(
            "flat_manager_upload_rejected", help: "Upload requests refused (bad name, bad object, bad multipart)",
            labels: [])
        missingObjectsCalls = r.counter(
            "flat_manager_missing_objects_calls", help: "Calls of missing_objects", labels: [])
        missingObjectsWanted = r.counter(
            "flat_manager_missing_objects_wanted", help: "Object names asked about by missing_objects calls",
            labels: [])
        queueOldestAge = r.gauge(
            "flat_manager_jobs_oldest_queued_age_seconds",
            help: "Time the oldest waiting job has been seen waiting (sampled)", labels: ["kind", "repo"])
        summarySize = r.gauge(
            "flat_manager_summary_size_bytes", help: "Size of the repository summary file (ostree refuses 10 MiB)",
            labels: ["repo"])
        staticDeltas = r.gauge(
            "flat_manager_static_deltas", help: "Static deltas present in the repository", labels: ["repo"])
        diskUsage = r.gauge(
            "flat_manager_disk_usage_bytes", help: "Disk usage of a repository or of the build area (sampled)",
            labels: ["area", "repo"])
        lastSample = r.gauge(
            "flat_manager_metrics_sampled_timestamp_seconds", help: "When the sampled figures were last computed",
            labels: [])
        webhookAttempts = r.counter(
            "flat_manager_webhook_attempts", help: "Webhook delivery attempts, by event and outcome",
            labels: ["event", "outcome"])
        prunableObjects = r.gauge(
            "flat_manager_retention_prunable_objects",
            help: "Objects the latest prune's dry run found unreachable within the retention (sampled)",
            labels: ["repo"])
        prunableBytes = r.gauge(
            "flat_manager_retention_prunable_bytes",
            help: "Bytes (approximate) the latest prune's dry run would free (sampled)", labels: ["repo"])
    }

    /// Upstream's `kind` label values.
    public static func kindLabel(_ kind: JobKind?) -> String {
        kind?.label ?? "unknown"
    }

    /// Upstream's `repo` label: the repo name, or `global` for jobs without one.
    public static func repoLabel(_ repo: String?) -> String { repo ?? "global" }

    // MARK: - Jobs

    public func jobStarted(_ job: Job) {
        jobsInProgress.add([Self.kindLabel(job.kind), Self.repoLabel(job.repo)], 1)
    }

    public func jobFinished(_ job: Job, status: JobStatus, seconds: Double) {
        let kind = Self.kindLabel(job.kind)
        let repo = Self.repoLabel(job.repo)
        let statusLabel = status == .ended ? "ended" : "broken"
        jobsInProgress.add([kind, repo], -1)
        jobsFinished.increment([kind, statusLabel, repo])
        jobDuration.observe([kind, statusLabel, repo], seconds)
    }

    // MARK: - HTTP

    /// One answered request; `route` is the route template (`/api/v1/build/{id}`), never the concrete path, so that
    /// the number of series stays bounded.
    public func requestAnswered(method: String, route: String, status: Int, seconds: Double) {
        httpRequests.increment([method, route, "\(status)"])
        httpDuration.observe([method, route], seconds)
    }

    /// Requests answered by the event-loop fast path of one connection, gathered there and added in one go.
    public struct FastPathTally: Sendable {
        var gets = HistogramTally(buckets: ServerMetrics.httpBuckets)
        var heads = HistogramTally(buckets: ServerMetrics.httpBuckets)

        public init() {}

        /// How many answers are gathered.
        public var count: UInt64 { gets.count + heads.count }

        /// One 200 answer to a `GET` (or `HEAD`) that took `seconds`.
        public mutating func answered(get isGet: Bool, seconds: Double) {
            if isGet { gets.add(seconds) } else { heads.add(seconds) }
        }
    }

    /// Adds a connection's fast-path answers as `requestAnswered` would have one by one (route `/repo/**`, status
    /// 200), and to `flat_manager_http_fast_path_responses`; empties the tally.
    public func fastPathAnswered(_ tally: inout FastPathTally) {
        let total = tally.count
        guard total > 0 else { return }
        for (method, count) in [("GET", tally.gets.count), ("HEAD", tally.heads.count)] where count > 0 {
            httpRequests.increment([method, "/repo/**", "200"], by: Double(count))
        }
        httpDuration.add(["GET", "/repo/**"], &tally.gets)
        httpDuration.add(["HEAD", "/repo/**"], &tally.heads)
        httpFastPath.increment(by: Double(total))
    }

    /// An upload request that stored these part sizes.
    public func uploaded(sizes: [Int]) {
        uploadObjects.increment(by: Double(sizes.count))
        uploadBytes.increment(by: Double(sizes.reduce(0, +)))
    }

    /// An upload request refused because of its content.
    public func uploadRefused() { uploadRejected.increment() }

    /// A `missing_objects` call asking about `wanted` names.
    public func missingObjectsCalled(wanted: Int) {
        missingObjectsCalls.increment()
        missingObjectsWanted.increment(by: Double(wanted))
    }
}
