import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The public HTML status pages (api.md §8), grown into an operator's dashboard: active jobs and recent builds, one
/// job with a log that follows live while it runs, and one build with its refs, checks and jobs.
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

    public init(store: Store, redactor: PathRedactor, requiresToken: Bool) {
        self.store = store
        self.redactor = redactor
        self.requiresToken = requiresToken
    }

    static let version = "0.5.0-swift"
    /// How many builds `/status` lists.
    static let recentBuilds = 20

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("status", use: list)
        router.get("status/:id", use: job)
        router.get("status/:id/log", use: log)
        router.get("status/build/:id", use: build)
    }

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        // Templates are compiled once; they are constants, so a parse failure is a programming error caught by tests.
        for (name, text) in [("list", listTemplate), ("job", jobTemplate), ("build", buildTemplate)] {
            if let template = try? MustacheTemplate(string: text) { library.register(template, named: name) }
        }
        return library
    }()

    static let style = """
        <style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}pre{background:#f4f4f4;padding:8px;overflow:auto}
        .Broken,.failed{color:#b00}.Ended,.published,.ready,.passed{color:#070}</style>
        """

    static let listTemplate = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>flat-manager status</title>
        \(style)</head><body><h1>flat-manager {{version}}</h1>
        <h2>Active jobs</h2>
        <table id="jobs"><tr><th>Job</th><th>Kind</th><th>Status</th><th>Repo</th></tr>
        {{#jobs}}<tr><td><a href="/status/{{id}}">{{id}}</a></td><td>{{kind}}</td><td class="{{status}}">{{status}}</td><td>{{repo}}</td></tr>
        {{/jobs}}</table>{{^jobs}}<p>No active jobs.</p>{{/jobs}}
        <h2>Recent builds</h2>
        <table id="builds"><tr><th>Build</th><th>Repo</th><th>App</th><th>Created</th><th>Repo state</th><th>Published state</th><th>Commit job</th><th>Publish job</th></tr>
        {{#builds}}<tr><td><a href="/status/build/{{id}}">{{id}}</a></td><td>{{repo}}</td><td>{{app}}</td><td>{{created}}</td><td class="{{repoState}}">{{repoState}}</td><td class="{{publishedState}}">{{publishedState}}</td><td>{{#commitJob}}<a href="/status/{{commitJob}}">{{commitJob}}</a>{{/commitJob}}</td><td>{{#publishJob}}<a href="/status/{{publishJob}}">{{publishJob}}</a>{{/publishJob}}</td></tr>
        {{/builds}}</table>{{^builds}}<p>No builds.</p>{{/builds}}
        </body></html>
        """

    /// While the job runs, a small script appends new log text from `/status/{id}/log?offset=N` every second and
    /// updates the status until the job finishes; without script, the page falls back to reloading itself.
    static let jobTemplate = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8">{{#refresh}}<noscript><meta http-equiv="refresh" content="5"></noscript>{{/refresh}}
        <title>Job {{id}}</title>\(style)</head><body><p><a href="/status">All jobs and builds</a>{{#build}} · <a id="build-link" href="/status/build/{{build}}">Build {{build}}</a>{{/build}}</p>
        <h1>Job {{id}} - {{kind}}: <span id="status" class="{{status}}">{{status}}</span></h1>
        {{#repo}}<p>Repo: {{repo}}</p>{{/repo}}
        {{#details}}<h2>Contents</h2><pre>{{contents}}</pre><h2>Log</h2><pre id="log" data-offset="{{offset}}">{{log}}</pre>
        {{#results}}<h2>Results</h2><pre id="results">{{results}}</pre>{{/results}}{{/details}}
        {{^details}}<p id="private">This job belongs to a private build; its details need a token.</p>{{/details}}
        {{#refresh}}<script>
        (function () {
          var log = document.getElementById("log"), status = document.getElementById("status");
          var offset = parseInt(log.dataset.offset, 10);
          function poll() {
            fetch("/status/{{id}}/log?offset=" + offset).then(function (r) {
              if (!r.ok) { return; }
              var next = parseInt(r.headers.get("X-Log-Offset"), 10), state = r.headers.get("X-Job-Status");
              return r.text().then(function (text) {
                if (text.length > 0) { log.appendChild(document.createTextNode(text)); }
                if (!isNaN(next)) { offset = next; log.dataset.offset = String(next); }
                if (state) { status.textContent = state; status.className = state; }
                if (state !== "Ended" && state !== "Broken") { setTimeout(poll, 1000); }
              });
            }).catch(function () { setTimeout(poll, 2000); });
          }
          setTimeout(poll, 1000);
        })();
        </script>{{/refresh}}
        </body></html>
        """

    static let buildTemplate = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8">{{#refresh}}<meta http-equiv="refresh" content="5">{{/refresh}}
        <title>Build {{id}}</title>\(style)</head><body><p><a href="/status">All jobs and builds</a></p>
        <h1>Build {{id}}</h1>
        <table id="build">{{#details}}<tr><th>Repo</th><td>{{repo}}</td></tr><tr><th>App</th><td>{{app}}</td></tr>
        <tr><th>Created</th><td>{{created}}</td></tr>{{/details}}
        <tr><th>Repo state</th><td class="{{repoState}}">{{repoState}}{{#repoReason}}: {{repoReason}}{{/repoReason}}</td></tr>
        <tr><th>Published state</th><td class="{{publishedState}}">{{publishedState}}{{#publishedReason}}: {{publishedReason}}{{/publishedReason}}</td></tr>
        {{#details}}<tr><th>Commit job</th><td>{{#commitJob}}<a href="/status/{{commitJob}}">{{commitJob}}</a>{{/commitJob}}</td></tr>
        <tr><th>Publish job</th><td>{{#publishJob}}<a href="/status/{{publishJob}}">{{publishJob}}</a>{{/publishJob}}</td></tr>{{/details}}
        </table>
        {{^details}}<p id="private">This build is private; its details need a token.</p>{{/details}}
        {{#details}}<h2>Refs</h2><table id="refs"><tr><th>Ref</th><th>Commit</th></tr>
        {{#refs}}<tr><td>{{name}}</td><td><code>{{commit}}</code></td></tr>{{/refs}}</table>
        <h2>Checks</h2><table id="checks"><tr><th>Check</th><th>Status</th><th>Job</th></tr>
        {{#checks}}<tr><td>{{name}}</td><td>{{status}}</td><td><a href="/status/{{job}}">{{job}}</a></td></tr>{{/checks}}</table>
        {{^checks}}<p>No checks.</p>{{/checks}}{{/details}}
        </body></html>
        """

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        var jobs: [[String: String]] = []
        for job in try await store.activeJobs() {
            let described = try await viewer.maySeeDetails(of: build(of: job))
            jobs.append([
                "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
                "repo": described ? job.repo ?? "" : "",
            ])
        }
        let builds = try await store.builds(appID: nil).sorted { $0.id > $1.id }.prefix(Self.recentBuilds)
        let values: [String: Any] = [
            "version": Self.version, "jobs": jobs,
            "builds": builds.map { Self.values(of: $0, details: viewer.maySeeDetails(of: $0)) },
        ]
        return html(Self.library.render(values, withTemplate: "list"))
    }

    @Sendable func job(_ request: Request, context: AppRequestContext) async throws -> Response {
        let viewer = try StatusViewer(context, required: requiresToken)
        let job = try await requireJob(context)
        let details = try await viewer.maySeeDetails(of: build(of: job))
        var values: [String: Any] = [
            "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
            "refresh": details && !job.status.isFinished, "details": details,
        ]
        if details {
            let log = logText(of: job, from: 0, for: viewer)
            if let repo = job.repo { values["repo"] = repo }
            values["contents"] = redact(job.contents, for: viewer)
            values["log"] = String(decoding: log.bytes, as: UTF8.self)
            values["offset"] = "\(log.next)"
            values["results"] = job.results.map { redact($0, for: viewer) } ?? false
        }
        if let build = Self.buildID(of: job) { values["build"] = "\(build)" }
        return html(Self.library.render(values, withTemplate: "job"))
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
        values["refresh"] = build.repoState == .committing || build.publishedState == .publishing
        guard details else { return html(Self.library.render(values, withTemplate: "build")) }
        let refs = try await store.buildRefs(buildID: id).map { ["name": $0.refName, "commit": $0.commit] }
        let checks = try await store.checks(buildID: id).map { check -> [String: String] in
            let status =
                Self.name(of: check.status) + (check.status.reason.map { ": \(redact($0, for: viewer))" } ?? "")
            return ["name": check.checkName, "status": status, "job": "\(check.jobID)"]
        }
        values["refs"] = refs
        values["checks"] = checks
        // Failure reasons quote tool errors, and with them paths.
        values["repoReason"] = build.repoStateReason.map { redact($0, for: viewer) } ?? false
        values["publishedReason"] = build.publishedStateReason.map { redact($0, for: viewer) } ?? false
        return html(Self.library.render(values, withTemplate: "build"))
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
            "repo": build.repo, "app": build.appID ?? "", "created": build.created.naiveString,
            "commitJob": build.commitJobID.map { "\($0)" } ?? false,
            "publishJob": build.publishJobID.map { "\($0)" } ?? false,
        ]) { old, _ in old }
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

    func html(_ text: String?) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text ?? "")))
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
