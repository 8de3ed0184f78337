import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP answer with its body already collected (and gunzipped when the server compressed it).
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer

    /// The body as JSON, for answers the client passes through to its output as they came; `decode` reads an
    /// answer into Core's wire types.
    var json: JSON? { JSON(data: Data(buffer: body)) }

    /// The server's error JSON, or 0.4.2's stand-in when the body is not JSON.
    ///
    /// Kept as the server sent it, not as Core's `ErrorBody`: it becomes `error.details` of the output and the
    /// stderr line verbatim (client.md A.3), members `ErrorBody` does not model included.
    var errorDetails: JSON { json ?? ClientError.nonJSONDetails(status: status) }
}

/// A request body that can be produced again for a retry.
enum RequestBody: Sendable {
    case none
    case json(Data)
    /// JSON sent gzip-compressed with `Content-Encoding: gzip` (the `missing_objects` queries).
    case gzipJSON(Data)
    /// A streamed body with a known length and content type (multipart uploads).
    case stream(contentType: String, length: Int64, make: @Sendable () -> MultipartStream)
}

/// Talks to the server: every request carries the bearer token; answers are collected and decoded.
struct API: Sendable {
    let http: HTTPClient
    let token: String
    let retry: RetryPolicy
    let log: Log

    /// Upper bound for one request, as the Python client's total timeout.
    static let timeout = TimeAmount.minutes(90)

    /// Sends one request once. Throws only for transport failures.
    func send(_ method: HTTPMethod, _ url: String, body: RequestBody = .none, token: String? = nil)
        async throws -> HTTPAnswer
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? self.token)")
        request.headers.add(name: "Accept", value: "*/*")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        switch body {
        case .none:
            break
        case .json(let data):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: data))
        case .gzipJSON(let data):
            var plain = ByteBuffer(data: data)
            let compressed = try plain.compress(with: .gzip())
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Content-Encoding", value: "gzip")
            request.body = .bytes(compressed)
        case .stream(let contentType, let length, let make):
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .stream(make(), length: .known(length))
        }
        log.debug("\(method) \(url)")
        let started = ContinuousClock.now
        let response = try await http.execute(request, timeout: Self.timeout)
        var collected = try await response.body.collect(upTo: 1 << 30)
        if response.headers[canonicalForm: "Content-Encoding"].contains(where: { $0.lowercased() == "gzip" }) {
            collected = try collected.decompress(with: .gzip())
        }
        log.debug("\(method) \(url) -> \(response.status.code) after \(ContinuousClock.now - started)")
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers, body: collected)
    }

    /// Sends a request expecting 200 and a JSON body; other statuses become `ClientError.api`. Transport failures
    /// and 5xx answers are retried under the retry policy when `retrying` is set.
    func call(
        _ method: HTTPMethod, _ url: String, body: RequestBody = .none, token: String? = nil, retrying: Bool = true
    ) async throws -> (json: JSON, answer: HTTPAnswer) {
        let attempt: @Sendable () async throws -> (json: JSON, answer: HTTPAnswer) = {
            let answer = try await send(method, url, body: body, token: token)
            guard answer.status == 200 else {
                throw ClientError.api(url: url, status: answer.status, details: answer.errorDetails)
            }
            guard let json = answer.json else {
                throw ClientError.exception(type: "json", message: "Response from \(url) is not JSON")
            }
            return (json, answer)
        }
        return retrying ? try await retry.run(attempt) : try await attempt()
    }

    /// `call` for a `Codable` request body.
    func call(_ method: HTTPMethod, _ url: String, json value: some Encodable, token: String? = nil)
        async throws -> (json: JSON, answer: HTTPAnswer)
    {
        try await call(method, url, body: .json(try JSONEncoder().encode(value)), token: token)
    }
}

/// Randomised exponential back-off for transient failures (client.md A.4): each wait is capped at `cap` seconds,
/// and no new attempt starts once `budget` seconds have passed since the first.
struct RetryPolicy: Sendable {
    var cap: Double
    var budget: Double
    var log = Log()

    func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        try await runAttempts { _ in try await operation() }
    }

    /// `run`, telling the operation which attempt this is (0 first), for requests that must look before repeating.
    func runAttempts<T: Sendable>(_ operation: @Sendable (Int) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            do {
                return try await operation(attempt)
            } catch  where Self.isTransient(error) {
                attempt += 1
                let wait = Double.random(in: 0...min(cap, pow(2, Double(min(attempt, 16)))))
                let elapsed = start.duration(to: .now)
                guard elapsed + .seconds(wait) < .seconds(budget) else { throw error }
                log.info("Retrying in \(String(format: "%.2f", wait)) s after: \(error)")
                try await Task.sleep(for: .seconds(wait))
            }
        }
    }

    /// 5xx answers, lossy uploads and transport failures are transient; everything else is final.
    static func isTransient(_ error: any Error) -> Bool {
        if let clientError = error as? ClientError { return clientError.isTransient }
        return !(error is CancellationError)
    }
}
