import FlatManagerCore
import Hummingbird

/// The request context of every route: Hummingbird's core storage plus the verified token claims, if any.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Claims of a valid presented token; nil when the route allowed a request without one.
    public var claims: Claims?
    /// The peer address, for the access log.
    public let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        claims = nil
        remoteAddress = source.channel.remoteAddress?.description ?? "-"
    }

    /// The claims, or 403 "No token specified" when none were presented.
    public func requireClaims() throws(APIError) -> Claims {
        guard let claims else { throw .insufficient(.noToken) }
        return claims
    }
}
