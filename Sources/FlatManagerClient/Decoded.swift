import FlatManagerCore
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A server answer decoded into Core's wire type, together with the JSON it arrived as.
///
/// The client reads `value` (states, ids, names, the log). Where it hands the server's object on to its own output
/// (the `result` of `follow-job` and `commit`, the `error.job` of a failed job or check), it hands on `json`:
/// the object member for member as the server sent it, members the wire type does not model included, so the
/// output JSON stays what the 0.4.2 client printed whatever Core's types model.
struct Decoded<Value: Decodable & Sendable>: Decodable, Sendable {
    /// The answer in Core's type.
    var value: Value
    /// The answer as the server sent it, for passing through to the output.
    var json: JSON

    init(from decoder: any Decoder) throws {
        value = try Value(from: decoder)
        json = try JSON(from: decoder)
    }
}

extension HTTPAnswer {
    /// The body decoded into `type`. A body that does not fit is the server's fault and no reason to try again,
    /// so the failure is a final `json` exception rather than a transient error (client.md B.2: "a JSON error").
    func decode<Answer: Decodable>(_ type: Answer.Type, from url: String) throws -> Answer {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch {
            throw ClientError.exception(type: "json", message: "Unexpected answer from \(url): \(error)")
        }
    }
}

extension API {
    /// `call`, with the answer decoded into Core's wire type `type`.
    func call<Answer: Decodable>(
        _ type: Answer.Type, _ method: HTTPMethod, _ url: String, body: RequestBody = .none, token: String? = nil
    ) async throws -> Answer {
        try await call(method, url, body: body, token: token).answer.decode(type, from: url)
    }

    /// `call` for a `Codable` request body, with the answer decoded into Core's wire type `type`.
    func call<Answer: Decodable>(
        _ type: Answer.Type, _ method: HTTPMethod, _ url: String, json value: some Encodable, token: String? = nil
    ) async throws -> Answer {
        try await call(method, url, json: value, token: token).answer.decode(type, from: url)
    }
}

extension ErrorBody {
    /// The server's error JSON in Core's type; nil when `details` is not upstream's error object.
    init?(details: JSON) {
        guard let data = try? JSONEncoder().encode(details),
            let body = try? JSONDecoder().decode(ErrorBody.self, from: data)
        else { return nil }
        self = body
    }
}
