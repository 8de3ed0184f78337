import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird
import Mustache
import NIOCore

/// The public HTML status pages (api.md §8): active jobs, and one job with its log.
struct StatusController {
    let services: APIServices

    static let version = "0.5.0-swift"

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        // Templates are compiled once; they are constants, so a parse failure is a programming error caught by tests.
        if let list = try? MustacheTemplate(string: listTemplate) { library.register(list, named: "list") }
        if let job = try? MustacheTemplate(string: jobTemplate) { library.register(job, named: "job") }
        return library
    }()

    static let listTemplate = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>flat-manager status</title>
        </head><body><h1>flat-manager {{version}}</h1>
        <table><tr><th>Job</th><th>Kind</th><th>Status</th><th>Repo</th></tr>
        {{#jobs}}<tr><td><a href="/status/{{id}}">{{id}}</a></td><td>{{kind}}</td><td>{{status}}</td><td>{{repo}}</td></tr>
        {{/jobs}}</table>{{^jobs}}<p>No active jobs.</p>{{/jobs}}</body></html>
        """

    static let jobTemplate = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8">{{#refresh}}<meta http-equiv="refresh" content="5">{{/refresh}}
        <title>Job {{id}}</title></head><body><h1>Job {{id}} - {{kind}}: {{status}}</h1>
        <h2>Contents</h2><pre>{{contents}}</pre><h2>Log</h2><pre>{{log}}</pre>
        {{#results}}<h2>Results</h2><pre>{{results}}</pre>{{/results}}</body></html>
        """

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("status", use: list)
        router.get("status/:id", use: job)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let jobs = try await services.store.activeJobs().map { job -> [String: String] in
            ["id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName, "repo": job.repo ?? ""]
        }
        return html(Self.library.render(["version": Self.version, "jobs": jobs], withTemplate: "list"))
    }

    @Sendable func job(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        guard let job = try await services.store.job(id: id) else { throw APIError.notFound }
        let values: [String: Any] = [
            "id": "\(job.id)", "kind": job.kind.displayName, "status": job.status.displayName,
            "contents": job.contents, "log": job.log, "results": job.results ?? false,
            "refresh": !job.status.isFinished,
        ]
        return html(Self.library.render(values, withTemplate: "job"))
    }

    func html(_ text: String?) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text ?? "")))
    }
}
