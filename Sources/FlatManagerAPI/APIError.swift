import FlatManagerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat

/// The only type that knows status codes and writes upstream's error JSON (api.md §2). Handlers throw it.
public enum APIError: Error, Sendable {
    case notFound
    case generic(String)
    case wrongRepoState(String, expected: RepoState, current: RepoState)
    case wrongPublishedState(String, expected: PublishedState, current: PublishedState)
    case invalidToken(TokenError)
    case insufficient(PermissionError)
    case internalError
    /// 413 with upstream's error JSON (error-type `generic-error`, the class of free-text refusals): a limit of
    /// ours (`max-build-bytes`, `max-object-bytes`, `max-build-refs`) was reached.
    case tooLarge(String)
    /// 400/404/405/413 with a plain-text (or empty) body, as upstream's framework answers.
    case plain(HTTPResponse.Status, String)

    var body: ErrorBody? {
        switch self {
        case .notFound:
            return ErrorBody(status: 404, errorType: "not-found", message: "Not found")
        case .generic(let message):
            return ErrorBody(status: 400, errorType: "generic-error", message: message)
        case .wrongRepoState(let message, let expected, let current):
            return ErrorBody(
                status: 400, errorType: "wrong-repo-state", message: message, currentState: current.name,
                expectedState: expected.name)
        case .wrongPublishedState(let message, let expected, let current):
            return ErrorBody(
                status: 400, errorType: "wrong-published-state", message: message, currentState: current.name,
                expectedState: expected.name)
        case .invalidToken(let error):
            return ErrorBody(status: 401, errorType: "invalid-token", message: error.message)
        case .insufficient(let error):
            return ErrorBody(status: 403, errorType: "token-insufficient", message: error.message)
        case .internalError:
            return ErrorBody(status: 500, errorType: "internal-error", message: "Internal Server Error")
        case .tooLarge(let message):
            return ErrorBody(status: 413, errorType: "generic-error", message: message)
        case .plain:
            return nil
        }
    }

    /// The response for this error; JSON bodies carry `Content-Type: application/json`.
    public func response(extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        if case .plain(let status, let text) = self {
            if !text.isEmpty { headers[.contentType] = "text/plain; charset=utf-8" }
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let body = self.body ?? ErrorBody(status: 500, errorType: "internal-error", message: "Internal Server Error")
        headers[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: body.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

extension APIError {
    /// The error for an unparsable or mis-typed request body (plain text, as upstream's framework).
    static func badBody(_ reason: String) -> APIError { .plain(.badRequest, reason) }
}

/// Turns every thrown error into a response: `APIError` as specified, Hummingbird's own errors keep their status
/// with an empty body (unknown route 404, and so on), anything else a logged 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as PermissionError {
            return APIError.insufficient(error).response()
        } catch let error as TokenError {
            return APIError.invalidToken(error).response()
        } catch let error as HTTPError {
            return APIError.plain(error.status, "").response()
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(String(reflecting: error))")
            return APIError.internalError.response()
        }
    }
}
