import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird
import Synchronization

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
    /// Tokens whose signature was verified, one memo per signer: a download client sends the same token with each of
    /// its thousands of object requests, and a signature check with two JSON decodes costs more than a small file.
    let mainVerified = VerifiedTokens()
    let repoVerified = VerifiedTokens()

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
        let memo: VerifiedTokens
        if path.hasPrefix("/api/v1/") || path == "/api/v1" {
            (signer, required, memo) = (mainSigner, true, mainVerified)
        } else if path.hasPrefix("/repo/") {
            (signer, required, memo) = (repoSigner, false, repoVerified)
        } else if path.hasPrefix("/build-repo/") {
            (signer, required, memo) = (mainSigner, false, mainVerified)
        } else if path == "/status" || path.hasPrefix("/status/") {
            (signer, required, memo) = (mainSigner, statusRequiresToken, mainVerified)
        } else {
            return try await next(request, context)
        }
        var context = context
        if let header = request.headers[.authorization] {
            context.claims = try await verify(header: header, with: signer, memo: memo)
        } else if required {
            throw APIError.invalidToken(.noAuthorizationHeader)
        }
        return try await next(request, context)
    }

    /// Verifies the token of an `Authorization` header; `memo` (the one kept for `signer`) skips the signature check
    /// of a token seen before.
    func verify(header: String, with signer: TokenSigner, memo: VerifiedTokens? = nil) async throws -> Claims {
        do {
            let token = try AuthorizationHeader.token(from: header, tokenPrefix: tokenPrefix)
            let claims = try memo?.claims(of: token, signer: signer) ?? signer.verify(token)
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

/// A bounded memo of verified tokens: the claims of a token whose signature a signer accepted, so that the next
/// request with it skips the HMAC and the JSON decoding. Expiry is checked on every use, as `TokenSigner.verify`
/// does; revocation (`jti`) is not cached at all (the caller asks the store each time). Refused tokens are not kept.
final class VerifiedTokens: Sendable {
    /// When full, the memo is emptied: a bound on memory for a stream of distinct tokens, at the cost of re-verifying.
    static let capacity = 4096
    private let entries = Mutex<[String: Claims]>([:])

    /// The claims of `token`, verified by `signer` unless this memo (which must be used with one signer only) has
    /// seen it.
    func claims(of token: String, signer: TokenSigner, now: Date = Date()) throws(TokenError) -> Claims {
        if let claims = entries.withLock({ $0[token] }) {
            if claims.exp < Int64(now.timeIntervalSince1970) { throw .expired }
            return claims
        }
        let claims = try signer.verify(token, now: now)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[token] = claims
        }
        return claims
    }

    /// The claims kept for `token`, expired or not; nil when this memo has not verified it.
    func cached(_ token: String) -> Claims? {
        entries.withLock { $0[token] }
    }
}
