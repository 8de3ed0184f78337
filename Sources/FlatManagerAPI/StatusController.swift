import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The public HTML status pages (api.md §8), grown into an operator's dashboard: active jobs and recent builds, one
/// job with a log that follows live while it runs, and one build with its refs, checks and jobs. No auth, so no
/// secrets: tokens are never stored with builds or jobs, and the pages show only states, names and job output.
struct StatusController {
    let services: APIServices

    static let version = "0.5.0-swift"
    /// How many builds `/status` lists.
    static let recentBuilds = 20

    func addRoutes(to router: Router<AppRequestContext>) {
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
        <h2>Contents</h2><pre>{{contents}}</pre><h2>Log</h2><pre id="log" data-offset="{{offset}}">{{log}}</pre>
        {{#results}}<h2>Results</h2><pre id="results">{{results}}</pre>{{/results}}
        {{#refresh}}<script>
        (function () {
          var log = document.getElementById("log"), status = document.getElementById("status");
          var offset = parseInt(log.dataset.offset, 10);
          function poll() {
            fetch("/status/{{id}}/log?offset=" + offset).then(function (r) {
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
        <table id="build"><tr><th>Repo</th><td>{{repo}}</td></tr><tr><th>App</th><td>{{app}}</td></tr>
        <tr><th>Created</th><td>{{created}}</td></tr>
        <tr><th>Repo state</th><td class="{{repoState}}">{{repoState}}{{#repoReason}}: {{repoReason}}{{/repoReason}}</td></tr>
        <tr><th>Published state</th><td class="{{publishedState}}">{{publishedState}}{{#publishedReason}}: {{publishedReason}}{{/publishedReason}}</td></tr>
        <tr><th>Commit job</th><td>{{#commitJob}}<a href="/status/{{commitJob}}">{{commitJob}}</a>{{/commitJob}}</td></tr>
        <tr><th>Publish job</th><td>{{#publishJob}}<a href="/status/{{publishJob}}">{{publishJob}}</a>{{/publishJob}}</td></tr>
        </table>
        <h2>Refs</h2><table id="refs"><tr><th>Ref</th><th>Commit</th></tr>
        {{#refs}}<tr><td>{{name}}</td><td><code>{{commit}}</code></td></tr>{{/refs}}</table>
        <h2>Checks</h2><table id="checks"><tr><th>Check</th><th>Status</th><th>Job</th></tr>
        {{#checks}}<tr><td>{{name}}</td><td>{{status}}</td><td><a href="/status/{{job}}">{{job}}</a></td></tr>{{/checks}}</table>
        {{^checks}}<p>No checks.</p>{{/checks}}
        </body></html>
        """

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let jobs = try await services.store.activeJobs().map { job -> [String: String] in
            ["id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName, "repo": job.repo ?? ""]
        }
        let builds = try await services.store.builds(appID: nil).sorted { $0.id > $1.id }.prefix(Self.recentBuilds)
        let values: [String: Any] = [
            "version": Self.version, "jobs": jobs, "builds": builds.map(Self.values(of:)),
        ]
        return html(Self.library.render(values, withTemplate: "list"))
    }

    @Sendable func job(_ request: Request, context: AppRequestContext) async throws -> Response {
        let job = try await requireJob(context)
        var values: [String: Any] = [
            "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
            "contents": job.contents, "log": job.log, "results": job.results ?? false,
            "refresh": !job.status.isFinished, "offset": "\(job.log.utf8.count)", "repo": job.repo ?? false,
        ]
        if let build = Self.buildID(of: job) { values["build"] = "\(build)" }
        return html(Self.library.render(values, withTemplate: "job"))
    }

    /// The job log from byte `offset` on, as plain text; `X-Log-Offset` is the offset to ask for next and
    /// `X-Job-Status` the job's status name. What the live log of the job page polls.
    @Sendable func log(_ request: Request, context: AppRequestContext) async throws -> Response {
        let job = try await requireJob(context)
        let bytes = Array(job.log.utf8)
        let offset = min(max(request.uri.queryParameters.get("offset", as: Int.self) ?? 0, 0), bytes.count)
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        if let name = HTTPField.Name("X-Log-Offset") { headers[name] = "\(bytes.count)" }
        if let name = HTTPField.Name("X-Job-Status") { headers[name] = job.status.displayName }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes[offset...])))
    }

    @Sendable func build(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        guard let build = try await services.store.build(id: id) else { throw APIError.notFound }
        let refs = try await services.store.buildRefs(buildID: id).map { ["name": $0.refName, "commit": $0.commit] }
        let checks = try await services.store.checks(buildID: id).map { check -> [String: String] in
            let status = Self.name(of: check.status) + (check.status.reason.map { ": \($0)" } ?? "")
            return ["name": check.checkName, "status": status, "job": "\(check.jobID)"]
        }
        var values = Self.values(of: build)
        values["refs"] = refs
        values["checks"] = checks
        values["repoReason"] = build.repoStateReason ?? false
        values["publishedReason"] = build.publishedStateReason ?? false
        values["refresh"] = build.repoState == .committing || build.publishedState == .publishing
        return html(Self.library.render(values, withTemplate: "build"))
    }

    func requireJob(_ context: AppRequestContext) async throws -> Job {
        guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        guard let job = try await services.store.job(id: id) else { throw APIError.notFound }
        return job
    }

    static func values(of build: Build) -> [String: Any] {
        [
            "id": "\(build.id)", "repo": build.repo, "app": build.appID ?? "", "created": build.created.naiveString,
            "repoState": "\(build.repoState)", "publishedState": "\(build.publishedState)",
            "commitJob": build.commitJobID.map { "\($0)" } ?? false,
            "publishJob": build.publishJobID.map { "\($0)" } ?? false,
        ]
    }

    /// The build a job works on, for the link back to it.
    static func buildID(of job: Job) -> Int32? {
        switch JobContents(kind: job.kind, json: job.contents) {
        case .commit(let build, _, _, _), .publish(let build), .check(let build, _): build
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
