import CompressNIO
import FlatManagerCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// Size limits of JSON request bodies, applied to the decoded body (api.md §1.3; 0.5's default).
enum BodyLimit {
    static let json = 2 * 1024 * 1024
    static let missingObjects = 10 * 1024 * 1024
}

extension Request {
    /// Decodes a JSON body the way upstream's framework does: a JSON content type is required, `Content-Encoding`
    /// gzip/deflate is undone first, the limit applies to the decoded bytes; failures are plain-text 400/413.
    /// With `emptyAsObject`, an absent or empty body reads as `{}` (job GETs: the 0.5 client sends none).
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int = BodyLimit.json, emptyAsObject: Bool = false)
        async throws(APIError) -> T
    {
        var bytes = try await collectBody(limit: limit)
        if bytes.readableBytes == 0 && emptyAsObject {
            bytes = ByteBuffer(string: "{}")
        } else {
            try requireJSONContentType()
        }
        return try Self.decodeJSON(type, from: bytes)
    }

    /// The body of a request that must be JSON, collected and decoded from its `Content-Encoding`, not parsed.
    mutating func collectJSONBody(limit: Int) async throws(APIError) -> ByteBuffer {
        let bytes = try await collectBody(limit: limit)
        try requireJSONContentType()
        return bytes
    }

    private func requireJSONContentType() throws(APIError) {
        guard let contentType = headers[.contentType], Self.isJSON(contentType) else {
            throw .badBody("Content type error")
        }
    }

    /// Decodes collected JSON bytes with the same rules and messages as `decodeJSON(_:limit:emptyAsObject:)`.
    static func decodeJSON<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer) throws(APIError) -> T {
        let data = Data(buffer: bytes)
        // No string of ours may hold a NUL: PostgreSQL refuses it (a 500 upstream), and a path or command line would
        // be cut at it. Refused like any other undecodable body.
        guard !Self.containsEscapedNUL(data) else {
            throw .badBody("Json deserialize error: NUL character in a string")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .badBody("Json deserialize error: \(Self.describe(error))")
        }
    }

    /// Whether the JSON text has the escape `\u0000` (the only way JSON can carry a NUL; a raw 0x00 is invalid JSON
    /// and refused by the decoder). Other escapes are stepped over, so `\\u0000` (a backslash, then `u0000`) is not
    /// one.
    static func containsEscapedNUL(_ data: Data) -> Bool {
        // In place: the body can be missing_objects' 10 MiB, which a copy into an array would double.
        data.withUnsafeBytes { bytes in
            let backslash = UInt8(ascii: "\\")
            let u = UInt8(ascii: "u")
            let zero = UInt8(ascii: "0")
            var index = 0
            while index < bytes.count {
                guard bytes[index] == backslash else {
                    index += 1
                    continue
                }
                if index + 5 < bytes.count, bytes[index + 1] == u, bytes[index + 2] == zero, bytes[index + 3] == zero,
                    bytes[index + 4] == zero, bytes[index + 5] == zero
                {
                    return true
                }
                index += 2
            }
            return false
        }
    }

    /// The whole body, decompressed, refusing more than `limit` bytes with 413.
    mutating func collectBody(limit: Int) async throws(APIError) -> ByteBuffer {
        var raw: ByteBuffer
        do {
            raw = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .plain(.contentTooLarge, "Payload too large")
        } catch {
            // The body stopped coming (the client went away, the connection was closed by a shutdown): not a
            // size problem, and nobody may be left to read the answer; the access log shows a 400.
            throw .badBody("Cannot read the request body")
        }
        let encoding = headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) ?? "identity"
        let algorithm: CompressionAlgorithm
        switch encoding {
        case "identity", "": return raw
        case "gzip", "x-gzip": algorithm = .gzip()
        case "deflate": algorithm = .zlib()
        default: throw .plain(.unsupportedMediaType, "Unsupported content encoding \(encoding)")
        }
        guard raw.readableBytes > 0 else { return raw }
        if encoding != "deflate", let whole = Self.gunzipWhole(raw, limit: limit) { return whole }
        do {
            return try raw.decompress(with: algorithm, maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .plain(.contentTooLarge, "Payload too large")
        } catch {
            throw .badBody("Cannot decode the \(encoding) request body")
        }
    }

    /// A gzip body inflated in one go into a buffer of the size its trailer announces (ISIZE, the last four bytes),
    /// when that is under `limit`: the general path inflates into growing buffers and copies them together, a
    /// tenth of a large `missing_objects` call. Nil whenever that does not simply work (a size that lies, several
    /// members, a broken stream): the caller then takes the general path, with its answers and errors.
    ///
    /// The trailer is the client's word: a size more than `maxRatio` times the body is not believed, so that a
    /// few bytes cannot make the server set aside `limit` bytes (the general path only grows with what zlib
    /// really produces).
    static func gunzipWhole(_ raw: ByteBuffer, limit: Int, maxRatio: Int = 16) -> ByteBuffer? {
        guard raw.readableBytes >= 18,
            let announced = raw.getInteger(at: raw.writerIndex - 4, endianness: .little, as: UInt32.self),
            Int(announced) < limit, Int(announced) / maxRatio <= raw.readableBytes
        else { return nil }
        var input = raw
        var output = ByteBufferAllocator().buffer(capacity: Int(announced) + 64)
        do {
            try input.decompress(to: &output, with: .gzip())
        } catch {
            return nil
        }
        return input.readableBytes == 0 && output.readableBytes == Int(announced) ? output : nil
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        let parts = mediaType.split(separator: "/")
        guard parts.count == 2 else { return false }
        return parts[1] == "json" || parts[1].hasSuffix("+json")
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field `\(key.stringValue)`"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "invalid type at `\(context.codingPath.map(\.stringValue).joined(separator: "."))`"
        default: "invalid JSON"
        }
    }
}

/// Builds JSON responses with `Content-Type: application/json` (the 0.4.2 client refuses anything else).
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func make(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, location: String? = nil, gzip: Bool = false
    ) throws(APIError) -> Response {
        var bytes: ByteBuffer
        do {
            bytes = ByteBuffer(data: try encoder.encode(value))
        } catch {
            throw .internalError
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let location { headers[.location] = location }
        if gzip, let compressed = try? bytes.compress(with: .gzip()) {
            bytes = compressed
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: bytes))
    }

    /// A 200 with JSON already written, gzipped with `gzip`'s settings when given.
    static func make(bytes: ByteBuffer, gzip: ZlibConfiguration?) -> Response {
        var bytes = bytes
        var headers: HTTPFields = [.contentType: "application/json"]
        if let gzip, let compressed = try? bytes.compress(with: .gzip(configuration: gzip)) {
            bytes = compressed
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }

    /// 204 with an empty body (tokens/revoke, check review).
    static func noContent() -> Response { Response(status: .noContent) }
}

extension Request {
    /// The absolute URL of `path` as the client sees this server (api.md §1.5): `Forwarded`, then
    /// `X-Forwarded-Proto`/`-Host`, then `Host`, then the configured host.
    func absoluteURL(_ path: String, fallbackHost: String) -> String {
        var scheme: String?
        var host: String?
        if let name = HTTPField.Name("Forwarded"), let forwarded = headers[name] {
            for pair in forwarded.split(separator: ",").first?.split(separator: ";") ?? [] {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { continue }
                let value = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if kv[0].lowercased() == "proto" { scheme = value }
                if kv[0].lowercased() == "host" { host = value }
            }
        }
        func first(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }?.split(separator: ",").first.map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        scheme = scheme ?? first("X-Forwarded-Proto") ?? uri.scheme?.rawValue ?? "http"
        host = host ?? first("X-Forwarded-Host") ?? head.authority ?? uri.host.map { String($0) } ?? fallbackHost
        return "\(scheme ?? "http")://\(host ?? fallbackHost)\(path)"
    }
}
