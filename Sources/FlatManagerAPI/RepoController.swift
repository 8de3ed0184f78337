import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import Hummingbird
import OSTree

/// Repository-wide operations: republish an app (api.md §4.18), prune (0.5, §4.21) and roll a ref back (ours,
/// issue #15).
public struct RepoController: Sendable {
    let repos: [String: RepoConfig]
    let store: Store
    let queue: any JobQueue
    /// `Location` host when a request names none.
    let fallbackHost: String

    public init(repos: [String: RepoConfig], store: Store, queue: any JobQueue, fallbackHost: String) {
        self.repos = repos
        self.store = store
        self.queue = queue
        self.fallbackHost = fallbackHost
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("repo/:repo/republish", use: republish)
        group.post("prune", use: prune)
        group.post("repo/:repo/rollback", use: rollback)
    }

    @Sendable func republish(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let claims = try context.requireClaims()
        try claims.require(sub: "build", scope: .republish)
        let body = try await request.decodeJSON(RepublishRequest.self)
        let repo = try EdgeNames.repo(context.parameters.get("repo") ?? "").rawValue
        // The job lists `app/<app>/...` refs of the repo; a path as app id walked the file system (issue #10).
        _ = try EdgeNames.appID(body.app)
        try claims.require(prefixFor: body.app)
        try claims.require(repo: repo)
        // Upstream lets an unknown repo through and the job never runs; refusing it is clearer.
        guard repos[repo] != nil else { throw APIError.generic("No such repo") }
        let job = try await store.createJob(
            kind: .republish,
            contents: .republish(app: body.app, endOfLife: body.endoflife, endOfLifeRebase: body.endoflifeRebase),
            repo: repo, startAfter: nil)
        queue.jobCreated(job)
        let location = request.absoluteURL("/api/v1/job/\(job.id)", fallbackHost: fallbackHost)
        return try JSONResponse.make(job, location: location)
    }

    @Sendable func prune(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let claims = try context.requireClaims()
        guard claims.has(.tokenmanagement) else {
            throw PermissionError("Not matching scope 'tokenmanagement' in token")
        }
        let body = try await request.decodeJSON(PruneRequest.self)
        _ = try EdgeNames.repo(body.repo)
        guard repos[body.repo] != nil else { throw APIError.generic("No such repo") }
        let job = try await store.createJob(kind: .prune, contents: .prune, repo: body.repo, startAfter: nil)
        queue.jobCreated(job)
        return try JSONResponse.make(job)
    }

    /// Queues a rollback job (ours, issue #15): a `publish` token whose prefix covers the ref's id and whose repos
    /// cover the repo; the commit must be in the ref's history now (checked again by the job under the repo lock).
    @Sendable func rollback(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let claims = try context.requireClaims()
        try claims.require(sub: "build", scope: .publish)
        let body = try await request.decodeJSON(RollbackRequest.self)
        let repoName = try EdgeNames.repo(context.parameters.get("repo") ?? "").rawValue
        guard let ref = RefName(body.ref), let id = ref.id else {
            throw APIError.generic("Invalid ref_name \(body.ref)")
        }
        guard ObjectName("\(body.commit).commit") != nil else {
            throw APIError.generic("Invalid commit \(body.commit)")
        }
        try claims.require(prefixFor: id)
        try claims.require(repo: repoName)
        guard let repo = repos[repoName] else { throw APIError.generic("No such repo") }
        switch try RefHistory.position(of: body.commit, in: body.ref, repo: repo.path) {
        case .noSuchRef:
            throw APIError.generic("No ref \(body.ref) in repo \(repoName)")
        case .notInHistory:
            throw APIError.generic("Commit \(body.commit) is not in the history of \(body.ref)")
        case .head, .ancestor:
            break
        }
        let job = try await store.createJob(
            kind: .rollback, contents: .rollback(ref: body.ref, commit: body.commit), repo: repoName, startAfter: nil)
        queue.jobCreated(job)
        let location = request.absoluteURL("/api/v1/job/\(job.id)", fallbackHost: fallbackHost)
        return try JSONResponse.make(job, location: location)
    }
}
