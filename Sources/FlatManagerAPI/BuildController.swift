import CompressNIO
import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import OSTree

/// Builds and everything hanging off them (api.md §4.6–4.17).
public struct BuildController: Sendable {
    let store: Store
    let queue: any JobQueue
    let storage: BuildStorage
    let repos: [String: RepoConfig]
    let rules: BuildRules
    let metrics: ServerMetrics
    let uploadTally: UploadTally
    let logger: Logger
    /// `Location` host when a request names none.
    let fallbackHost: String

    public init(
        store: Store, queue: any JobQueue, storage: BuildStorage, repos: [String: RepoConfig], rules: BuildRules,
        metrics: ServerMetrics, uploadTally: UploadTally, logger: Logger, fallbackHost: String
    ) {
        self.store = store
        self.queue = queue
        self.storage = storage
        self.repos = repos
        self.rules = rules
        self.metrics = metrics
        self.uploadTally = uploadTally
        self.logger = logger
        self.fallbackHost = fallbackHost
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("build", use: create)
        group.get("build", use: list)
        group.get("build/:id", use: get)
        group.get("build/:id/extended", use: extended)
        group.post("build/:id/build_ref", use: createRef)
        group.get("build/:id/build_ref/:ref_id", use: getRef)
        group.get("build/:id/missing_objects", use: missingObjects)
        group.post("build/:id/add_extra_ids", use: addExtraIDs)
        group.post("build/:id/upload", use: upload)
        group.post("build/:id/commit", use: commit)
        group.get("build/:id/commit", use: commitJob)
        group.post("build/:id/publish", use: publish)
        group.get("build/:id/publish", use: publishJob)
        group.get("build/:id/check/:check_name/job", use: checkJob)
        group.post("build/:id/purge", use: purge)
    }

    // MARK: - Lookup and authorisation

    /// claims(build/{id}, scope) → lookup (404) → build-access, in upstream's order.
    func authorizedBuild(_ id: Int32, _ context: AppRequestContext, scopes: [Scope]) async throws -> Build {
        let claims = try context.requireClaims()
        var lastError: PermissionError?
        for scope in scopes {
            do {
                try claims.require(sub: "build/\(id)", scope: scope)
                lastError = nil
                break
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
        guard let build = try await store.build(id: id) else { throw APIError.notFound }
        try claims.requireAccess(to: build)
        return build
    }

    func location(_ request: Request, _ path: String) -> String {
        request.absoluteURL(path, fallbackHost: fallbackHost)
    }

    func buildResponse(_ build: Build, _ request: Request) throws -> Response {
        try JSONResponse.make(build, location: location(request, "/api/v1/build/\(build.id)"))
    }

    // MARK: - Builds

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let claims = try context.requireClaims()
        try claims.require(sub: "build", scope: .build)
        let body = try await request.decodeJSON(CreateBuildRequest.self)
        _ = try EdgeNames.repo(body.repo)
        if let appID = body.appID { _ = try EdgeNames.appID(appID) }
        try claims.require(repo: body.repo)
        if let appID = body.appID { try claims.require(prefixFor: appID) }
        guard let repo = repos[body.repo] else { throw APIError.generic("No such repo") }
        let build = try await store.createBuild(
            repo: body.repo, appID: body.appID, publicDownload: body.publicDownload ?? (body.appID == nil),
            buildLogURL: body.buildLogURL, tokenName: claims.name ?? "-", tokenType: claims.tokenType,
            tokenBranches: claims.branches.filter { !$0.isEmpty })
        do {
            try storage.create(build.id, parent: repo.path, collectionID: repo.collectionID)
        } catch {
            logger.error("Cannot create the repositories of build \(build.id): \(error)")
            try? await store.setBuildFailed(id: build.id, reason: "Failed to create build directory: \(error)")
            throw APIError.internalError
        }
        return try buildResponse(build, request)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let claims = try context.requireClaims()
        do {
            try claims.require(sub: "build", scope: .build)
        } catch {
            try claims.require(sub: "build", scope: .download)
        }
        let appID = request.uri.queryParameters["app-id"].map(String.init)
        if let appID {
            _ = try EdgeNames.appID(appID)
            try claims.require(prefixFor: appID)
        }
        return try JSONResponse.make(try await store.builds(appID: appID))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build, .upload])
        return try JSONResponse.make(build)
    }

    @Sendable func extended(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build, .upload])
        let refs = try await store.buildRefs(buildID: build.id)
        let checks = try await store.checks(buildID: build.id)
        return try JSONResponse.make(ExtendedBuild(build: build, buildRefs: refs, checks: checks))
    }

    // MARK: - Refs and extra ids

    @Sendable func createRef(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.upload])
        let body = try await request.decodeJSON(CreateBuildRefRequest.self)
        let claims = try context.requireClaims()
        guard let ref = RefName(body.ref) else { throw APIError.generic("Invalid ref_name \(body.ref)") }
        if let id = ref.id {
            try claims.require(prefixFor: id)
        } else if case .screenshots(let arch) = ref {
            // 0.5.3: a screenshots ref must belong to the build's app, or for a build without app id to its one app
            // ref of that arch (none: global prefix access only; several: refused). A refusal is 403
            // token-insufficient, as server.md says for the several case, like every other prefix mismatch here.
            let existing = build.appID == nil ? try await store.buildRefs(buildID: build.id).map(\.refName) : []
            try claims.require(
                screenshotsOwner: ScreenshotOwner(arch: arch, buildAppID: build.appID, refNames: existing))
        }
        try BranchEnforcement.check(ref, claims: claims, enabled: rules.enforceBranches)
        guard ObjectName("\(body.commit).commit") != nil else {
            throw APIError.generic("Invalid commit \(body.commit)")
        }
        if let limit = rules.maxBuildRefs {
            let existing = try await store.buildRefs(buildID: build.id)
            if existing.count >= limit, !existing.contains(where: { $0.refName == body.ref }) {
                throw APIError.tooLarge("Build already has \(existing.count) refs (max-build-refs \(limit))")
            }
        }
        let buildRef = try await store.upsertBuildRef(
            buildID: build.id, refName: body.ref, commit: body.commit, buildLogURL: body.buildLogURL)
        return try JSONResponse.make(
            buildRef, location: location(request, "/api/v1/build/\(build.id)/build_ref/\(buildRef.id)"))
    }

    @Sendable func getRef(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Both ids first: upstream extracts the whole path before its handler checks anything, so an id that is not
        // an Int32 is the plain 404 even for a missing build or a weak token (found by schemathesis).
        let id = try buildID(context)
        guard let refID = context.parameters.get("ref_id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
        let build = try await authorizedBuild(id, context, scopes: [.build])
        guard let ref = try await store.buildRef(id: refID, buildID: build.id) else { throw APIError.notFound }
        return try JSONResponse.make(ref)
    }

    @Sendable func addExtraIDs(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let id = try buildID(context)
        try context.requireClaims().require(sub: "build/\(id)", scope: .upload)
        let body = try await request.decodeJSON(AddExtraIDsRequest.self)
        for extra in body.ids where !Self.isValidExtraID(extra) {
            throw APIError.generic("Invalid extra id \(extra)")
        }
        let build = try await authorizedBuild(id, context, scopes: [.upload])
        guard let updated = try await store.addExtraIDs(body.ids, buildID: build.id) else { throw APIError.notFound }
        return try buildResponse(updated, request)
    }

    /// Each `.`-separated element non-empty and alphanumeric (ASCII only, see `ExtraID`).
    static func isValidExtraID(_ id: String) -> Bool { ExtraID.isValid(id) }

    // MARK: - Commit and publish

    @Sendable func commit(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build])
        let body = try await request.decodeJSON(CommitRequest.self, emptyAsObject: true)
        let contents = JobContents.commit(
            build: build.id, endOfLife: body.endoflife, endOfLifeRebase: body.endoflifeRebase,
            tokenType: body.tokenType)
        switch try await store.beginCommit(buildID: build.id, contents: contents) {
        case nil:
            throw APIError.notFound
        case .refused(let current):
            throw Self.commitRefusal(current)
        case .done(let job):
            queue.jobCreated(job)
            return try JSONResponse.make(job, location: location(request, "/api/v1/build/\(build.id)/commit"))
        }
    }

    /// Why a commit cannot start (api.md §2 table; 0.5 spelling).
    static func commitRefusal(_ build: Build) -> APIError {
        let message: String
        switch build.repoState {
        case .committing: message = "Build is currently being committed"
        case .ready, .validating: message = "Build is already committed"
        case .failed: message = "Commit already failed: \(build.repoStateReason ?? "Unknown reason")"
        case .purging, .purged: message = "Build has been purged"
        case .uploading: message = "Build is uploading"
        }
        return .wrongRepoState(message, expected: .uploading, current: build.repoState.reportedForCommit)
    }

    @Sendable func publish(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.publish])
        let body = try await request.decodeJSON(PublishRequest.self, emptyAsObject: true)
        switch try await store.beginPublish(buildID: build.id, allowDowngrade: body.allowDowngrade ?? false) {
        case nil:
            throw APIError.notFound
        case .refused(let current):
            throw Self.publishRefusal(current)
        case .done(let job):
            queue.jobCreated(job)
            return try JSONResponse.make(job, location: location(request, "/api/v1/build/\(build.id)/publish"))
        }
    }

    /// Why a publish cannot start: the published state is checked first, then the repo state (api.md §2).
    static func publishRefusal(_ build: Build) -> APIError {
        switch build.publishedState {
        case .publishing:
            return .wrongPublishedState(
                "Build is currently being published", expected: .unpublished, current: .publishing)
        case .published:
            return .wrongPublishedState("Build has already been published", expected: .unpublished, current: .published)
        case .failed:
            return .wrongPublishedState(
                "Previous publish failed: \(build.publishedStateReason ?? "Unknown reason")", expected: .unpublished,
                current: .failed)
        case .unpublished:
            break
        }
        let message: String
        switch build.repoState {
        case .uploading, .committing: message = "Build is not committed"
        case .validating: message = "Build is still validating"
        case .failed: message = "Build failed: \(build.repoStateReason ?? "Unknown reason")"
        case .purging, .purged: message = "Build has been purged"
        case .ready: message = "Build is ready"
        }
        let current: RepoState = build.repoState == .purging ? .purged : build.repoState
        return .wrongRepoState(message, expected: .ready, current: current)
    }

    @Sendable func commitJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build])
        return try await jobResponse(build.commitJobID, request)
    }

    @Sendable func publishJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build])
        return try await jobResponse(build.publishJobID, request)
    }

    @Sendable func checkJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build])
        let name = try EdgeNames.checkName(context.parameters.get("check_name") ?? "").rawValue
        let check = try await store.checks(buildID: build.id).first { $0.checkName == name }
        return try await jobResponse(check?.jobID, request)
    }

    func jobResponse(_ jobID: Int32?, _ request: Request) async throws -> Response {
        var request = request
        let asked = try await request.jobLogRequest()
        guard let jobID else { throw APIError.notFound }
        return try await JobWaiting(store: store).answer(jobID: jobID, asked)
    }

    // MARK: - Purge

    @Sendable func purge(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.build])
        switch try await store.beginPurge(buildID: build.id) {
        case nil:
            throw APIError.notFound
        case .refused:
            throw APIError.generic("Can't prune build while in use")
        case .done:
            var failure: String?
            do {
                // A published build's directory went with its publish: nothing left to remove is a success then.
                // (Purging twice still fails as upstream's does: the directory is gone, the build is not published.)
                if build.publishedState != .published || storage.exists(build.id) { try storage.remove(build.id) }
            } catch {
                failure = "Failed to Purge build: \(error.localizedDescription)"
            }
            return try buildResponse(try await store.finishPurge(buildID: build.id, failure: failure), request)
        }
    }
}

/// `{}` or any object whose members are ignored.
struct EmptyObject: Decodable {}

extension RepoState {
    /// The `current-state` upstream reports when refusing a commit (validating reads as ready, purging as purged).
    var reportedForCommit: RepoState {
        switch self {
        case .validating: .ready
        case .purging: .purged
        default: self
        }
    }
}

extension Request {
    /// The `log-offset` of a job GET: from the JSON body (upstream) or a query parameter; nil when absent.
    /// The body of a job GET (`log-offset`, and ours, `wait-for-change`), or the `log-offset` query parameter.
    mutating func jobLogRequest() async throws -> JobLogRequest {
        if let query = uri.queryParameters["log-offset"], let value = Int(query) {
            return JobLogRequest(logOffset: max(0, value))
        }
        let body = try await decodeJSON(JobLogRequest.self, emptyAsObject: true)
        // Upstream reads the body's offset as an unsigned integer, so a negative one is a body it cannot deserialise:
        // plain-text 400 like any mis-typed member (api.md §4.4; was clamped to 0, found by schemathesis).
        if let offset = body.logOffset, offset < 0 {
            throw APIError.badBody("Json deserialize error: invalid value at `log-offset`")
        }
        if let wait = body.waitForChange, !(wait >= 0) {
            throw APIError.badBody("Json deserialize error: invalid value at `wait-for-change`")
        }
        return body
    }
}

/// The `{id}` path parameter; anything not an Int32 makes the route not match (plain 404).
func buildID(_ context: AppRequestContext) throws -> Int32 {
    guard let id = context.parameters.get("id", as: Int32.self) else { throw APIError.plain(.notFound, "") }
    return id
}
