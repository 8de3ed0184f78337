import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OSTree
import SystemPackage

/// Serves the main repositories under `/repo/<name>/…` and build repositories under `/build-repo/<id>/…`
/// (api.md §7) as plain static files.
public struct FileController: Sendable {
    let repos: [String: RepoConfig]
    let store: Store
    let storage: BuildStorage
    let responder: StaticFileResponder
    /// Each main repository's root, held open for the fast path of `serveRepo`.
    let roots: [String: RepoRoot]

    public init(repos: [String: RepoConfig], store: Store, storage: BuildStorage, logger: Logger) {
        self.repos = repos
        self.roots = repos.mapValues { RepoRoot(path: $0.path.string) }
        self.store = store
        self.storage = storage
        self.responder = StaticFileResponder(logger: logger)
    }

    static let otherMethods: [HTTPRequest.Method] = [.post, .put, .delete, .patch, .options, .connect, .trace]

    public func addRoutes(to router: Router<AppRequestContext>) {
        for path in ["repo/**", "build-repo/:id/**"] {
            router.get(RouterPath(path), use: path.hasPrefix("repo") ? serveRepo : serveBuildRepo)
            router.head(RouterPath(path), use: path.hasPrefix("repo") ? serveRepo : serveBuildRepo)
            for method in Self.otherMethods {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw APIError.plain(.methodNotAllowed, "")
                }
            }
        }
    }

    /// The percent-decoded, normalised segments after `prefixCount` path components of the raw request path.
    func segments(of request: Request, droppingFirst prefixCount: Int) throws(APIError) -> [String] {
        let raw = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).dropFirst(prefixCount)
        var decoded: [String] = []
        for segment in raw {
            guard segment.utf8.contains(UInt8(ascii: "%")) else {
                decoded.append(String(segment))
                continue
            }
            guard let text = String(segment).removingPercentEncoding else {
                throw .plain(.badRequest, "Invalid percent-encoding")
            }
            decoded.append(text)
        }
        do {
            return try RepoPath.normalize(decoded.joined(separator: "/"))
        } catch {
            throw Self.apiError(error)
        }
    }

    static func apiError(_ error: FileServingError) -> APIError {
        switch error {
        case .badPath(let reason): .plain(.badRequest, reason)
        case .notFound: .plain(.notFound, "File not found")
        case .isDirectory: .plain(.notFound, "Ignoring directory")
        }
    }

    @Sendable func serveRepo(_ request: Request, context: AppRequestContext) async throws -> Response {
        let segments = try segments(of: request, droppingFirst: 1)
        guard let name = segments.first, let repo = repos[name] else {
            throw APIError.generic("No such repo")
        }
        let rest = Array(segments.dropFirst())
        if let root = roots[name], let response = try serveFast(request, root: root, rest) { return response }
        // `media` may be a symlink to another disk (upstream allows it since 0.5): files below it are served from
        // there, and only below it.
        let mediaRoot = rest.first == "media" ? [repo.path.string + "/media"] : []
        if let path = try resolve(root: repo.path.string, rest, alsoAllowed: mediaRoot) {
            return try await serveChecked(request, path: path, repo: repo, claims: context.claims)
        }
        // Retired deltas stay downloadable from deltas/.tmp for an hour (the intent of upstream's fallback).
        if rest.first == "deltas", rest.count > 1,
            let retired = try resolve(root: repo.path.string, ["deltas", ".tmp"] + rest.dropFirst(), alsoAllowed: [])
        {
            return try await serveChecked(request, path: retired, repo: repo, claims: context.claims)
        }
        throw APIError.plain(.notFound, "File not found")
    }

    /// The fast path for a main repository's file: one `openat2` below the repository's open root, following no
    /// symlink, then `fstat` and `pread` of that descriptor. Nil when the general path must decide: `media` (a symlink
    /// to another disk, by design), files that download protection examines, any symlink on the way, retired deltas.
    func serveFast(_ request: Request, root: RepoRoot, _ rest: [String]) throws -> Response? {
        guard let last = rest.last, rest[0] != "media", !DownloadProtection.examines(resolvedPath: last) else {
            return nil
        }
        switch root.open(rest.joined(separator: "/")) {
        case .descriptor(let descriptor):
            do {
                return try responder.respond(to: request, file: OpenFile(taking: descriptor), name: last)
            } catch let error as FileServingError {
                throw Self.apiError(error)
            }
        case .missing:
            // A missing delta may be a retired one, still served from deltas/.tmp by the general path.
            guard rest[0] != "deltas" else { return nil }
            throw APIError.plain(.notFound, "File not found")
        case .unsupported:
            return nil
        }
    }

    @Sendable func serveBuildRepo(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try buildID(context)
        guard let build = try await store.build(id: id) else { throw APIError.notFound }
        if !build.publicDownload {
            let claims = try context.requireClaims()
            try claims.require(repo: build.repo)
            try claims.require(sub: "build/\(id)", scope: .download)
            try claims.requireAccess(to: build)
        }
        let rest = try segments(of: request, droppingFirst: 2)
        // A published build's directory is gone (publish removes it): nothing of it, nor of the main repository
        // through its fallback, is served any more.
        guard storage.exists(id) else { throw APIError.plain(.notFound, "File not found") }
        let buildDir = storage.directory(id).string
        guard let repo = repos[build.repo] else { throw APIError.plain(.notFound, "File not found") }
        // Ours, on purpose unlike upstream (api.md §7.4 checks no token type here): the main repo's protected
        // commits are reachable through the fallback and the `parent` link, and a build's own commits carry the
        // token type they will be published with, so the same check guards every route that can serve them.
        if let path = try resolve(root: buildDir, rest, alsoAllowed: [repo.path.string]) {
            return try await serveChecked(request, path: path, repo: repo, claims: context.claims)
        }
        // Objects shared with the main repo are found through the build's `parent` link (server.md §7.4).
        if let path = try resolve(root: repo.path.string, rest, alsoAllowed: []) {
            return try await serveChecked(request, path: path, repo: repo, claims: context.claims)
        }
        throw APIError.plain(.notFound, "File not found")
    }

    /// Serves `path` (already resolved, symlinks followed) after the token-type check of api.md §7.3, which is
    /// keyed on the file served, not on the name asked for, so no route or fallback can bypass it.
    func serveChecked(_ request: Request, path: String, repo: RepoConfig, claims: Claims?) async throws -> Response {
        var extraHeaders: HTTPFields = [:]
        if DownloadProtection.examines(resolvedPath: path) {
            do {
                extraHeaders = try DownloadProtection.check(file: path, repo: repo, claims: claims)
            } catch let refusal as DownloadProtection.ProtectedError {
                // Answered here: the error middleware knows APIError, not the no-store header a refusal carries.
                return refusal.error.response(extraHeaders: refusal.headers)
            }
        }
        return try await serve(request, path: path, extraHeaders: extraHeaders)
    }

    /// The confined file for `segments` under `root`, nil when it does not exist; directories are 404.
    func resolve(root: String, _ segments: [String], alsoAllowed: [String]) throws(APIError) -> String? {
        guard !segments.isEmpty else { throw .plain(.notFound, "Ignoring directory") }
        do {
            return try ConfinedPath.resolve(root: root, segments: segments, alsoAllowed: alsoAllowed)
        } catch .notFound {
            return nil
        } catch {
            throw Self.apiError(error)
        }
    }

    func serve(_ request: Request, path: String, extraHeaders: HTTPFields) async throws -> Response {
        do {
            return try await responder.respond(to: request, path: path, extraHeaders: extraHeaders)
        } catch let error as FileServingError {
            throw Self.apiError(error)
        }
    }
}

/// Token-protected downloads by commit token type (api.md §7.3).
enum DownloadProtection {
    /// Whether the file at `resolvedPath` (a real path) is one the check examines: a delta `superblock` or a
    /// `*.commit` file. Upstream 0.5 looks at commits only inside `objects/`; any `.commit` is examined here,
    /// since an unparsable one is served unchecked anyway.
    static func examines(resolvedPath: String) -> Bool {
        guard let name = resolvedPath.split(separator: "/").last else { return false }
        return examines(name: name)
    }

    /// The same rule for a file's last path segment.
    static func examines(name: Substring) -> Bool {
        var name = name
        return name.withUTF8 { examines(name: UnsafeRawBufferPointer($0)) }
    }

    /// The same rule for a segment's bytes.
    static func examines(name: UnsafeRawBufferPointer) -> Bool {
        let commit = ".commit".utf8
        return name.elementsEqual("superblock".utf8)
            || (name.count >= commit.count && name[(name.count - commit.count)...].elementsEqual(commit))
    }

    /// Headers to add to the response (`Cache-Control: no-store` for protected files); throws 403 when refused.
    static func check(file: String, repo: RepoConfig, claims: Claims?) throws -> HTTPFields {
        guard let data = FileManager.default.contents(atPath: file) else { return [:] }
        let commit: CommitObject
        do {
            commit =
                file.hasSuffix("superblock")
                ? try DeltaSuperblock(data: [UInt8](data)).commit : try CommitObject(data: [UInt8](data))
        } catch {
            return [:]  // Unparsable files are served without checks, as upstream.
        }
        let tokenType = commit.tokenType ?? repo.defaultTokenType
        guard repo.requireAuthForTokenTypes.contains(tokenType) else { return [:] }
        let headers: HTTPFields = [.cacheControl: "no-store"]
        guard let bindings = commit.refBinding else { throw ProtectedError(headers: headers, error: .internalError) }
        var lastError: PermissionError?
        for ref in bindings {
            let parts = ref.split(separator: "/")
            guard parts.count > 2, parts[0] == "app" || parts[0] == "runtime" else { continue }
            guard let claims else {
                lastError = .noToken
                continue
            }
            do {
                try claims.require(prefixFor: String(parts[1]))
                return headers
            } catch {
                lastError = error
            }
        }
        if let lastError { throw ProtectedError(headers: headers, error: .insufficient(lastError)) }
        return headers
    }

    /// A refusal that still carries `Cache-Control: no-store`.
    struct ProtectedError: Error, HTTPResponseError {
        let headers: HTTPFields
        let error: APIError
        var status: HTTPResponse.Status { error.response().status }
        func response(from request: Request, context: some RequestContext) throws -> Response {
            error.response(extraHeaders: headers)
        }
    }
}
