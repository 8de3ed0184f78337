import Hummingbird
import NIOCore

/// `GET /openapi.yaml` (ours, no auth): the OpenAPI 3 document of `/api/v1`. It lives outside `/api/v1` because
/// everything there requires a token.
public struct OpenAPIController: Sendable {
    public init() {}

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("openapi.yaml", use: document)
    }

    @Sendable func document(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let contents = OpenAPIDocument.contents else {
            throw APIError.notFound
        }
        return Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: contents))
    }
}
