import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird

/// Token usage, revocation and subsetting (api.md §4.1–4.3, §9.6–9.7).
public struct TokenController: Sendable {
    let store: Store
    /// Signs subset tokens with the main secret.
    let signer: TokenSigner

    public init(store: Store, signer: TokenSigner) {
        self.store = store
        self.signer = signer
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("tokens/get_list", use: list)
        group.post("tokens/revoke", use: revoke)
        group.post("token_subset", use: subset)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try context.requireClaims().require(sub: "", scope: .tokenmanagement)
        let body = try await request.decodeJSON(TokenIDsRequest.self)
        return try JSONResponse.make(try await store.tokenUsages(Self.possibleIDs(body.tokenIDs)))
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try context.requireClaims().require(sub: "", scope: .tokenmanagement)
        let body = try await request.decodeJSON(TokenIDsRequest.self)
        try await store.revokeTokens(Self.possibleIDs(body.tokenIDs))
        return JSONResponse.noContent()
    }

    /// The ids a token could carry. Longer ones are refused in every token (`Claims.maximumJTILength`), so they are
    /// unknown (skipped, as upstream skips unknown ids) and need no revocation; PostgreSQL could not index them.
    static func possibleIDs(_ ids: [String]) -> [String] {
        ids.filter { $0.utf8.count <= Claims.maximumJTILength }
    }

    @Sendable func subset(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let parent = try context.requireClaims()
        let body = try await request.decodeJSON(TokenSubsetRequest.self)
        let now = Int64(Date().timeIntervalSince1970)
        guard let claims = Self.subset(of: parent, request: body, now: now) else {
            throw APIError.insufficient(PermissionError("No token presented"))
        }
        return try JSONResponse.make(TokenResponse(token: signer.sign(claims, style: .complete)))
    }

    /// The narrower claims of api.md §9.7, or nil when the request would widen the parent in any way.
    ///
    /// Rule 1 (`now + max(duration, 0) <= parent.exp`) is a comparison, so a sum past Int64.max is simply later than
    /// any parent's expiry: refused like every other widening (403), never computed with a trapping `+`.
    static func subset(of parent: Claims, request: TokenSubsetRequest, now: Int64) -> Claims? {
        let (exp, overflow) = now.addingReportingOverflow(max(request.duration, 0))
        guard !overflow, exp <= parent.exp,
            TokenMatching.subjectMatches(tokenSub: parent.sub, required: request.sub),
            request.scope.allSatisfy(parent.scope.contains)
        else { return nil }
        if let prefixes = request.prefixes {
            if prefixes.isEmpty {
                // An empty `prefixes` claim allows every id (api.md §9.4), so asking for `[]` would widen any
                // parent that has a list; only a parent that already allows everything may pass it on.
                guard parent.prefixes.isEmpty else { return nil }
            } else {
                // An empty parent list grants nothing here on purpose (upstream): such a token can only mint `[]`.
                guard !parent.prefixes.isEmpty,
                    prefixes.allSatisfy({ TokenMatching.idMatches($0, prefixes: parent.prefixes, apps: []) })
                else { return nil }
            }
        }
        if let apps = request.apps, !apps.allSatisfy(parent.apps.contains) { return nil }
        if let repos = request.repos, !repos.allSatisfy({ TokenMatching.repoMatches($0, repos: parent.repos) }) {
            return nil
        }
        return Claims(
            sub: request.sub, exp: exp, name: (parent.name ?? "") + "/" + request.name, jti: parent.jti,
            scope: request.scope, prefixes: request.prefixes ?? parent.prefixes, apps: request.apps ?? parent.apps,
            repos: request.repos ?? parent.repos, branches: parent.branches, tokenType: parent.tokenType)
    }
}
