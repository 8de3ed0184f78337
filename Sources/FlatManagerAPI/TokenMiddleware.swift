import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird

/// Reads and verifies the bearer token of every request (api.md §1.2): required under `/api/v1/` (even for unknown
/// paths there), optional on `/repo/` (repo secret) and `/build-repo/` (main secret), where a present but invalid
/// header is still refused. Tokens with a `jti` are checked against revocation and their use recorded.
///
/// `/status` pages (ours) take an optional token with the main secret, so that a `jobs` token sees full details;
/// with `status-requires-token` the token is required there as under `/api/v1/`.
public struct TokenMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let mainSigner: TokenSigner
    let repoSigner: TokenSigner
    let tokenPrefix: String?
    let store: Store
    /// `status-requires-token`: whether `/status` needs a token (the scope is checked by the status controller).
    let statusRequiresToken: Bool

    public init(
        mainSigner: TokenSigner, repoSigner: TokenSigner, tokenPrefix: String?, store: Store, statusRequiresToken: Bool
    ) {
        self.mainSigner = mainSigner
        self.repoSigner = repoSigner
        self.tokenPrefix = tokenPrefix
        self.store = store
        self.statusRequiresToken = statusRequiresToken
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let path = request.uri.path
        let signer: TokenSigner
        let required: Bool
        if path.hasPrefix("/api/v1/") || path == "/api/v1" {
            (signer, required) = (mainSigner, true)
        } else if path.hasPrefix("/repo/") {
            (signer, required) = (repoSigner, false)
        } else if path.hasPrefix("/build-repo/") {
            (signer, required) = (mainSigner, false)
        } else if path == "/status" || path.hasPrefix("/status/") {
            (signer, required) = (mainSigner, statusRequiresToken)
        } else {
            return try await next(request, context)
        }
        var context = context
        if let header = request.headers[.authorization] {
            context.claims = try await verify(header: header, with: signer)
        } else if required {
            throw APIError.invalidToken(.noAuthorizationHeader)
        }
        return try await next(request, context)
    }

    func verify(header: String, with signer: TokenSigner) async throws -> Claims {
        do {
            let token = try AuthorizationHeader.token(from: header, tokenPrefix: tokenPrefix)
            let claims = try signer.verify(token)
            if let jti = claims.jti {
                guard try await store.recordTokenUse(jti: jti, expires: Timestamp(secondsSinceEpoch: claims.exp)) else {
                    throw TokenError.revoked
                }
            }
            return claims
        } catch let error as TokenError {
            throw APIError.invalidToken(error)
        }
    }
}
