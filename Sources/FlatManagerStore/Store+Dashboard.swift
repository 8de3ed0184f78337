import FlatManagerCore
import SQLKit

/// When a job was queued, last started and ended (our `job_times`; upstream's jobs have no timestamps). A field is
/// nil when that has not happened yet, or happened before the table existed.
public struct JobTimes: Sendable, Equatable {
    public var queued: Timestamp?
    public var started: Timestamp?
    public var ended: Timestamp?

    public init(queued: Timestamp? = nil, started: Timestamp? = nil, ended: Timestamp? = nil) {
        self.queued = queued
        self.started = started
        self.ended = ended
    }
}

/// Which builds the dashboard lists (every field optional; nil matches all).
public struct BuildListFilter: Sendable, Equatable {
    /// A plain string prefix of the app id.
    public var appPrefix: String?
    public var repo: String?
    /// A repo state or a published state (`failed` matches either).
    public var repoStates: [RepoState]
    public var publishedStates: [PublishedState]
    /// `created_at >= since`.
    public var since: Timestamp?
    /// `created_at < until`.
    public var until: Timestamp?
    /// Only builds with `public_download` (for viewers who may not see private builds' details).
    public var publicOnly: Bool

    public init(
        appPrefix: String? = nil, repo: String? = nil, repoStates: [RepoState] = [],
        publishedStates: [PublishedState] = [], since: Timestamp? = nil, until: Timestamp? = nil,
        publicOnly: Bool = false
    ) {
        self.appPrefix = appPrefix
        self.repo = repo
        self.repoStates = repoStates
        self.publishedStates = publishedStates
        self.since = since
        self.until = until
        self.publicOnly = publicOnly
    }
}

/// One row of the dashboard's build list: the build and when its commit and publish jobs ended.
public struct BuildListing: Sendable {
    public var build: Build
    public var commitEnded: Timestamp?
    public var publishEnded: Timestamp?
}

/// A job that has not finished, with what the dashboard's queue view shows about it.
public struct QueuedJob: Sendable {
    public var job: Job
    public var times: JobTimes
    /// The jobs it waits for that have not finished: id, kind and status.
    public var waitsFor: [(id: Int32, kind: JobKind, status: JobStatus)]
}

extension Store {
    /// A moment in a job's life that `job_times` records.
    enum JobTimeEvent {
        case queued, started, ended

        /// The column, from this closed set only (never from input).
        var column: String {
            switch self {
            case .queued: "queued_at"
            case .started: "started_at"
            case .ended: "ended_at"
            }
        }
    }

    /// Records `event` of `jobID` at `time` inside the caller's transaction (a row is created when missing: jobs
    /// queued before the table existed). A start clears an earlier end (a resumed job).
    func recordJobTime(_ event: JobTimeEvent, jobID: Int32, at time: Timestamp, in db: any SQLDatabase) async throws {
        let clearEnd = event == .started ? ", ended_at = NULL" : ""
        try await db.raw(
            """
            INSERT INTO job_times (job_id, \(unsafeRaw: event.column)) VALUES (\(bind: jobID), \(bind: bind(time)))
            ON CONFLICT (job_id) DO UPDATE SET \(unsafeRaw: event.column) = excluded.\(unsafeRaw: event.column)\
            \(unsafeRaw: clearEnd)
            """
        ).run()
    }

    /// One page of builds matching `filter`, newest first: at most `limit` rows after skipping `offset`.
    public func listBuilds(_ filter: BuildListFilter, limit: Int, offset: Int) async throws -> [BuildListing] {
        try await withDatabase { db in
            var query: SQLQueryString = """
                SELECT \(unsafeRaw: Self.buildColumns), c.ended_at AS commit_ended_at, p.ended_at AS publish_ended_at
                FROM builds LEFT JOIN job_times c ON c.job_id = builds.commit_job_id
                LEFT JOIN job_times p ON p.job_id = builds.publish_job_id WHERE 1 = 1
                """
            if let prefix = filter.appPrefix {
                // substr, not LIKE: nothing in the prefix is a pattern.
                query +=
                    " AND substr(app_id, 1, \(bind: Int32(clamping: prefix.unicodeScalars.count))) = \(bind: prefix)"
            }
            if let repo = filter.repo { query += " AND repo = \(bind: repo)" }
            if !filter.repoStates.isEmpty || !filter.publishedStates.isEmpty {
                var states: [SQLQueryString] = filter.repoStates.map { "repo_state = \(bind: $0.rawValue)" }
                states += filter.publishedStates.map { "published_state = \(bind: $0.rawValue)" }
                query += " AND (\(states.joined(separator: " OR ")))"
            }
            if let since = filter.since { query += " AND created_at >= \(bind: bind(since))" }
            if let until = filter.until { query += " AND created_at < \(bind: bind(until))" }
            if filter.publicOnly { query += " AND public_download = \(bind: true)" }
            query += " ORDER BY builds.id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)"
            return try await db.raw(query).all().map { row in
                BuildListing(
                    build: try decodeBuild(row), commitEnded: try time(row, "commit_ended_at"),
                    publishEnded: try time(row, "publish_ended_at"))
            }
        }
    }

    /// The recorded times of these jobs (absent ids have none recorded).
    public func jobTimes(ids: [Int32]) async throws -> [Int32: JobTimes] {
        guard !ids.isEmpty else { return [:] }
        return try await withDatabase { db in
            let list = SQLList(ids.map { SQLBind($0) })
            let rows = try await db.raw(
                "SELECT job_id, queued_at, started_at, ended_at FROM job_times WHERE job_id IN (\(list))"
            ).all()
            var times: [Int32: JobTimes] = [:]
            for row in rows {
                times[try row.int32("job_id")] = JobTimes(
                    queued: try time(row, "queued_at"), started: try time(row, "started_at"),
                    ended: try time(row, "ended_at"))
            }
            return times
        }
    }

    /// Jobs that are New or Started, by id, with their times and the unfinished jobs each waits for.
    public func queuedJobs() async throws -> [QueuedJob] {
        let jobs = try await activeJobs()
        let times = try await jobTimes(ids: jobs.map(\.id))
        let waits = try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT d.job_id, d.depends_on, j.kind, j.status FROM job_dependencies d
                INNER JOIN jobs j ON j.id = d.depends_on
                INNER JOIN jobs w ON w.id = d.job_id
                WHERE w.status = \(bind: JobStatus.new.rawValue) AND j.status <= \(bind: JobStatus.started.rawValue)
                ORDER BY d.job_id, d.depends_on
                """
            ).all()
            var waits: [Int32: [(id: Int32, kind: JobKind, status: JobStatus)]] = [:]
            for row in rows {
                let kind = JobKind(rawValue: try row.int16("kind")) ?? .commit
                let status = JobStatus(rawValue: try row.int16("status")) ?? .broken
                waits[try row.int32("job_id"), default: []].append((try row.int32("depends_on"), kind, status))
            }
            return waits
        }
        return jobs.map { QueuedJob(job: $0, times: times[$0.id] ?? JobTimes(), waitsFor: waits[$0.id] ?? []) }
    }
}
