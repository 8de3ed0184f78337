/// The header fields of one multipart part, in the order they were sent.
public struct PartHeaders: Sendable, Equatable {
    public var fields: [(name: String, value: String)]

    public init(fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// The first value of the field called `name`, compared case-insensitively.
    public func value(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }

    /// The parsed `Content-Disposition` field, if the part has one.
    public var contentDisposition: ContentDisposition? {
        value("Content-Disposition").map(ContentDisposition.init(parsing:))
    }

    public static func == (lhs: PartHeaders, rhs: PartHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A parsed `Content-Disposition` value: `attachment; filename="x"` (the Python client) or
/// `form-data; name="file0"; filename="x"` (the Rust client); the type does not matter to uploads.
public struct ContentDisposition: Sendable, Equatable {
    /// The disposition type, lowercased (`attachment`, `form-data`, `inline`, ...).
    public var type: String
    /// Parameters by lowercased name, quoted values unescaped; `filename*` values already decoded.
    public var parameters: [String: String]

    public init(type: String, parameters: [String: String]) {
        self.type = type
        self.parameters = parameters
    }

    /// Parses a header value; never fails (a value without parameters simply has none).
    public init(parsing header: String) {
        let parsed = HeaderParameters.parse(header)
        self.init(type: parsed.value, parameters: parsed.parameters)
    }

    /// `filename`, or the RFC 8187 `filename*` when only that one was sent.
    public var filename: String? {
        parameters["filename"] ?? parameters["filename*"]
    }
}

/// Extracting the boundary of a multipart body from its `Content-Type`.
public struct MultipartBoundary {
    /// The `boundary` parameter of any `multipart/*` media type (quoted or not); nil for other
    /// types or when the parameter is missing or empty.
    public static func from(contentType: String) -> String? {
        let parsed = HeaderParameters.parse(contentType)
        guard parsed.value.hasPrefix("multipart/"), let boundary = parsed.parameters["boundary"], !boundary.isEmpty
        else { return nil }
        return boundary
    }
}
