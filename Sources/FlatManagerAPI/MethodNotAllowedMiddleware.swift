import HTTPTypes
import Hummingbird

/// Answers a known path asked with a method it does not serve with 405, an empty body and `Allow` (RFC 9110
/// §15.5.6), as upstream does (api.md §1.1); Hummingbird's router answers 404 there, as for an unknown path (found by
/// the schemathesis conformance test). Added after every route, it wraps only the router's not-found answer, inside
/// the token middleware: below `/api/v1` a request still needs a valid token first (401 before 405, as upstream).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each registered path with the methods it serves.
    let routes: [(path: RouterPath, methods: Set<HTTPRequest.Method>)]

    init(routes: [Router<Context>.RouteDescription]) {
        var grouped: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            grouped[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        self.routes = grouped.values.sorted { $0.path.description < $1.path.description }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let segments = request.uri.path.split(separator: "/")
        let allowed = routes.filter { Self.matches($0.path, segments) }.reduce(into: Set()) { $0.formUnion($1.methods) }
        guard !allowed.isEmpty, !allowed.contains(request.method) else { return try await next(request, context) }
        let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return APIError.plain(.methodNotAllowed, "").response(extraHeaders: [.allow: allow])
    }

    /// Whether the path's segments fit the route's pattern (`**` takes the rest).
    static func matches(_ pattern: RouterPath, _ segments: [Substring]) -> Bool {
        var index = 0
        for element in pattern.components {
            if element == RouterPath.Element.recursiveWildcard { return index < segments.count }
            guard index < segments.count, element ~= segments[index] else { return false }
            index += 1
        }
        return index == segments.count
    }
}
