import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import OSTree

/// The public HTML status pages (api.md §8), grown into an operator's dashboard (issue #16): builds filtered and
/// paged, one job with its times and a log that follows live while it runs, one build with its refs, checks, jobs
/// and actions (review, purge, republish through the API with the viewer's token), the queue, and each repo's refs.
///
/// Privacy (issue #10): anonymous viewers see a build with `public_download: false` by id and states only, and
/// nothing of its jobs but id, kind and status; job output reaches them without the server's absolute paths
/// (`PathRedactor`). A token with sub `build` and the `jobs` scope (the one that reads any job over the API) sees
/// everything, private builds only if it also has access to them. With `status-requires-token` every page needs
/// such a token: 401 without one (token middleware), 403 without the scope.
public struct StatusController: Sendable {
    let store: Store
    let redactor: PathRedactor
    /// `status-requires-token`.
    let requiresToken: Bool
    /// The configured repositories, for the repo pages.
    let repos: [String: RepoConfig]
    /// The repo pages' rows, read at most every few seconds (`RepoPageCache`).
    let repoPages = RepoPageCache()

    public init(store: Store, redactor: PathRedactor, requiresToken: Bool, repos: [String: RepoConfig] = [:]) {
        self.store = store
        self.redactor = redactor
        self.requiresToken = requiresToken
        self.repos = repos
    }

    static let version = "0.5.0-swift"

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("status", use: list)
        router.get("status/dashboard.css", use: stylesheet)
        router.get("status/dashboard.js", use: script)
        router.get("status/queue", use: queue)
        router.get("status/repo/:repo", use: repo)
        router.get("status/:id", use: job)
        router.get("status/:id/log", use: log)
        router.get("status/build/:id", use: build)
    }

    /// `/status`: the builds matching the query's filters, newest first, one page of them, and the active jobs.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        let query = try BuildListQuery(request.uri.queryParameters)
        var jobs: [[String: String]] = []
        for job in try await store.activeJobs() {
            let described = try await viewer.maySeeDetails(of: build(of: job))
            jobs.append([
                "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
                "repo": described ? job.repo ?? "" : "",
            ])
        }
        // Filters on what a private build hides (app, repo, dates) must not find builds the viewer may not see.
        let filter = query.filter(publicOnly: query.filtersHiddenValues && !viewer.seesServerPaths)
        let rows = try await store.listBuilds(
            filter, limit: BuildListQuery.pageSize + 1, offset: query.offset)
        let now = Timestamp.now()
        let builds = rows.prefix(BuildListQuery.pageSize).filter {
            !query.filtersHiddenValues || viewer.maySeeDetails(of: $0.build)
        }.map { row -> [String: Any] in
            let details = viewer.maySeeDetails(of: row.build)
            var values = Self.values(of: row.build, details: details)
            if details { values["duration"] = Self.duration(of: row, now: now) }
            return values
        }
        var values = query.values
        values["title"] = "Builds"
        values["refresh"] = query.isDefault
        values["jobs"] = jobs
        values["hasJobs"] = !jobs.isEmpty
        values["builds"] = builds
        values["hasBuilds"] = !builds.isEmpty
        values["previous"] = query.page > 1 ? query.link(page: query.page - 1) : false
        values["next"] = rows.count > BuildListQuery.pageSize ? query.link(page: query.page + 1) : false
        return html(render("list", values, for: viewer))
    }

    /// How long a build took from its creation to the end of its last job so far (commit or publish).
    static func duration(of row: BuildListing, now: Timestamp) -> String {
        let ends = [row.commitEnded, row.publishEnded].compactMap { $0 }
        guard let end = ends.max() else { return "" }
        return StatusFormat.duration(from: row.build.created, to: end)
    }

    @Sendable func job(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        let job = try await requireJob(context)
        let details = try await viewer.maySeeDetails(of: build(of: job))
        var values: [String: Any] = [
            "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
            "follow": details && !job.status.isFinished, "details": details, "title": "Job \(job.id)",
            "noscriptRefresh": details && !job.status.isFinished,
        ]
        if details {
            let times = try await store.jobTimes(ids: [job.id])[job.id] ?? JobTimes()
            values["times"] = StatusFormat.values(of: times, now: .now())
            let log = logText(of: job, from: 0, for: viewer)
            if let repo = job.repo { values["repo"] = repo }
            values["contents"] = redact(job.contents, for: viewer)
            values["log"] = String(decoding: log.bytes, as: UTF8.self)
            values["offset"] = "\(log.next)"
            values["results"] = job.results.map { redact($0, for: viewer) } ?? false
        }
        if let build = Self.buildID(of: job) { values["build"] = "\(build)" }
        return html(render("job", values, for: viewer))
    }

    /// The job log from byte `offset` on, as plain text; `X-Log-Offset` is the offset to ask for next and
    /// `X-Job-Status` the job's status name. What the live log of the job page polls. Empty for a viewer who may
    /// not see the job's details.
    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        let job = try await requireJob(context)
        let offset = request.uri.queryParameters.get("offset", as: Int.self) ?? 0
        let details = try await viewer.maySeeDetails(of: build(of: job))
        let log = details ? logText(of: job, from: offset, for: viewer) : (bytes: [], next: job.log.utf8.count)
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        if let name = HTTPField.Name("X-Log-Offset") { headers[name] = "\(log.next)" }
        if let name = HTTPField.Name("X-Job-Status") { headers[name] = job.status.displayName }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: log.bytes)))
    }

    /// The log from byte `offset` on and the offset to ask for next. For a viewer who must not see server paths
    /// the text is redacted in whole lines: the offset moves back to the start of its line and, while the job runs,
    /// the text stops after the last complete line, so that no path is ever cut in two (half a path would escape
    /// the redaction).
    func logText(of job: Job, from offset: Int, for viewer: StatusViewer) -> (bytes: [UInt8], next: Int) {
        let bytes = Array(job.log.utf8)
        let clamped = min(max(offset, 0), bytes.count)
        guard !viewer.seesServerPaths else { return (Array(bytes[clamped...]), bytes.count) }
        let newline = UInt8(ascii: "\n")
        let start = bytes[..<clamped].lastIndex(of: newline).map { $0 + 1 } ?? 0
        let end = job.status.isFinished ? bytes.count : (bytes.lastIndex(of: newline).map { $0 + 1 } ?? 0)
        guard start < end else { return ([], max(start, end)) }
        return (Array(redactor.redact(String(decoding: bytes[start..<end], as: UTF8.self)).utf8), end)
    }

    @Sendable func build(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        guard let build = try await store.build(id: id) else { throw APIError.notFound }
        let details = viewer.maySeeDetails(of: build)
        var values = Self.values(of: build, details: details)
        values["title"] = "Build \(build.id)"
        values["refresh"] = build.repoState == .committing || build.publishedState == .publishing
        guard details else { return html(render("build", values, for: viewer)) }
        let refs = try await store.buildRefs(buildID: id).map { ["name": $0.refName, "commit": $0.commit] }
        let checks = try await store.checks(buildID: id)
        values["refs"] = refs
        // Builds made by the reference client have no app id; their app ref names the app.
        let app = build.appID ?? refs.lazy.compactMap { Self.appID(ofRef: $0["name"] ?? "") }.first
        values["checks"] = checks.map { check -> [String: Any] in
            let status =
                Self.name(of: check.status) + (check.status.reason.map { ": \(redact($0, for: viewer))" } ?? "")
            var reviewable = false
            if case .reviewRequired = check.status { reviewable = true }
            return ["name": check.checkName, "status": status, "job": "\(check.jobID)", "reviewable": reviewable]
        }
        // Failure reasons quote tool errors, and with them paths.
        values["repoReason"] = build.repoStateReason.map { redact($0, for: viewer) } ?? false
        values["publishedReason"] = build.publishedStateReason.map { redact($0, for: viewer) } ?? false
        values["purgeable"] = build.repoState == .failed
        values["republishable"] = build.publishedState == .published && app != nil
        values["republishApp"] = app ?? ""
        let jobIDs =
            [build.commitJobID].compactMap { $0 } + checks.map(\.jobID) + [build.publishJobID].compactMap { $0 }
        let times = try await store.jobTimes(ids: jobIDs)
        let now = Timestamp.now()
        var jobs: [[String: Any]] = []
        for jobID in jobIDs {
            guard let job = try await store.job(id: jobID) else { continue }
            var row = StatusFormat.values(of: times[jobID] ?? JobTimes(), now: now)
            row["id"] = "\(jobID)"
            row["kind"] = job.kind.displayName
            row["status"] = job.status.displayName
            jobs.append(row)
        }
        values["jobs"] = jobs
        let ends = jobIDs.compactMap { times[$0]?.ended }
        values["duration"] = ends.max().map { StatusFormat.duration(from: build.created, to: $0) } ?? ""
        return html(render("build", values, for: viewer))
    }

    /// `text` as `viewer` may see it: with server paths only for a `jobs` token.
    func redact(_ text: String, for viewer: StatusViewer) -> String {
        viewer.seesServerPaths ? text : redactor.redact(text)
    }

    /// The build a job works on (commit, publish, check), if any and if it still exists.
    func build(of job: Job) async throws -> Build? {
        guard let id = Self.buildID(of: job) else { return nil }
        return try await store.build(id: id)
    }

    func requireJob(_ context: AppRequestContext) async throws -> Job {
        guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        guard let job = try await store.job(id: id) else { throw APIError.notFound }
        return job
    }

    /// What the pages show of a build: with `details` false only its id and states (a private build, api.md §8 as
    /// hardened by issue #10).
    static func values(of build: Build, details: Bool) -> [String: Any] {
        let states: [String: Any] = [
            "id": "\(build.id)", "repoState": "\(build.repoState)", "publishedState": "\(build.publishedState)",
            "details": details,
        ]
        guard details else { return states }
        return states.merging([
            "repo": build.repo, "app": build.appID ?? "", "created": StatusFormat.time(build.created),
            "commitJob": build.commitJobID.map { "\($0)" } ?? false,
            "publishJob": build.publishJobID.map { "\($0)" } ?? false,
        ]) { old, _ in old }
    }

    /// The app id of an `app/<id>/<arch>/<branch>` ref.
    static func appID(ofRef ref: String) -> String? {
        let parts = ref.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "app", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// The build a job works on, for the link back to it.
    static func buildID(of job: Job) -> Int32? {
        switch JobContents(kind: job.kind, json: job.contents) {
        case .commit(let build, _, _, _), .publish(let build, _), .check(let build, _): build
        default: nil
        }
    }

    static func name(of status: CheckStatus) -> String {
        switch status {
        case .pending: "pending"
        case .passed: "passed"
        case .passedWithWarnings: "passed with warnings"
        case .failed: "failed"
        case .reviewRequired: "review required"
        }
    }

    /// A status page, with the headers every one carries: nothing but our own script and stylesheet may run or
    /// load, no framing, no referrer to other sites, never cached (pages change and may show private builds).
    func html(_ text: String?) -> Response {
        Response(
            status: .ok, headers: Self.pageHeaders(contentType: "text/html; charset=utf-8"),
            body: .init(byteBuffer: ByteBuffer(string: text ?? "")))
    }

    static func pageHeaders(contentType: String) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: contentType, .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ]
        if let name = HTTPField.Name("X-Content-Type-Options") { headers[name] = "nosniff" }
        if let name = HTTPField.Name("Referrer-Policy") { headers[name] = "no-referrer" }
        return headers
    }

    /// Renders a template of `StatusPages` with what every page shows (version, repos for the navigation, and
    /// whether `viewer` came with a verified `jobs` token: the page's script fetches the page again with the tab's
    /// token when it did not).
    func render(_ template: String, _ values: [String: Any], for viewer: StatusViewer) -> String? {
        var all = values
        all["viewer"] = viewer.seesServerPaths ? "jobs" : "public"
        all["version"] = Self.version
        all["repos"] = repos.keys.sorted().map { ["name": $0] }
        return StatusPages.library.render(all, withTemplate: template)
    }
}

/// Who is looking at a status page, from the optional token.
struct StatusViewer {
    /// The token's claims when it has sub `build` and the `jobs` scope (what reads any job over the API).
    let jobsClaims: Claims?

    /// With `required` (`status-requires-token`), 403 unless the token has sub `build` and the `jobs` scope; a
    /// missing token was already refused with 401 by the token middleware.
    init(_ context: AppRequestContext, required: Bool) throws(PermissionError) {
        guard let claims = context.claims else {
            if required { throw PermissionError.noToken }
            jobsClaims = nil
            return
        }
        do {
            try claims.require(sub: "build", scope: .jobs)
            jobsClaims = claims
        } catch {
            if required { throw error }
            jobsClaims = nil
        }
    }

    /// Whether job output may show the server's absolute paths.
    var seesServerPaths: Bool { jobsClaims != nil }

    /// Whether the build may be described beyond its id and states: public builds to everyone, private ones to a
    /// `jobs` token that also has access to the build. A job without a build is described.
    func maySeeDetails(of build: Build?) -> Bool {
        guard let build, !build.publicDownload else { return true }
        guard let jobsClaims else { return false }
        return (try? jobsClaims.requireAccess(to: build)) != nil
    }
}
