import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import FlatManagerAPI

/// How reading a JSON request body fails (api.md §1.3): too many bytes is 413, a body that stops coming is 400.
@Suite("Request body reading")
struct RequestBodyReadingTests {
    struct BrokenStream: Error {}

    static func request(body: RequestBody) -> Request {
        let head = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/api/v1/build")
        return Request(head: head, body: body)
    }

    /// A body that sends `chunk` and then fails, as a connection closed in the middle of the body does.
    static func failingBody(after chunk: String) -> RequestBody {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(ByteBuffer(string: chunk))
        continuation.finish(throwing: BrokenStream())
        return RequestBody(asyncSequence: stream)
    }

    @Test("a body larger than the limit is refused with 413")
    func tooLargeIs413() async throws {
        // Arrange
        var request = Self.request(body: RequestBody(buffer: ByteBuffer(string: String(repeating: "x", count: 100))))

        // Act
        let error = await #expect(throws: APIError.self) { _ = try await request.collectBody(limit: 10) }

        // Assert
        guard case .plain(let status, _) = error else {
            Issue.record("not a plain error: \(String(describing: error))")
            return
        }
        #expect(status == .contentTooLarge)
    }

    @Test("a body that breaks off is a 400, not a 413")
    func brokenBodyIs400() async throws {
        // Arrange
        var request = Self.request(body: Self.failingBody(after: #"{"repo":"#))

        // Act
        let error = await #expect(throws: APIError.self) { _ = try await request.collectBody(limit: 1024) }

        // Assert
        guard case .plain(let status, let message) = error else {
            Issue.record("not a plain error: \(String(describing: error))")
            return
        }
        #expect(status == .badRequest)
        #expect(message == "Cannot read the request body")
    }
}
