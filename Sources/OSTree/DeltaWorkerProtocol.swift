import Foundation

/// A message from a remote delta worker to the server (api.md §4.20), in serde's "externally tagged" JSON form:
/// `{"Register":{"capacity":4}}`, `"Unregister"`, `{"Finished":{"id":17,"errmsg":null}}`.
public enum DeltaWorkerMessage: Sendable, Equatable, Codable {
    case register(capacity: UInt32)
    case unregister
    case finished(id: UInt32, errmsg: String?)

    private enum Tag: String, CodingKey {
        case register = "Register"
        case unregister = "Unregister"
        case finished = "Finished"
    }

    private enum FieldKey: String, CodingKey {
        case capacity, id, errmsg
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let tag = try? single.decode(String.self) {
            guard tag == Tag.unregister.rawValue else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "Unknown message \(tag)")
            }
            self = .unregister
            return
        }
        let container = try decoder.container(keyedBy: Tag.self)
        if container.contains(.register) {
            let fields = try container.nestedContainer(keyedBy: FieldKey.self, forKey: .register)
            self = .register(capacity: try fields.decode(UInt32.self, forKey: .capacity))
        } else if container.contains(.finished) {
            let fields = try container.nestedContainer(keyedBy: FieldKey.self, forKey: .finished)
            self = .finished(
                id: try fields.decode(UInt32.self, forKey: .id),
                errmsg: try fields.decodeIfPresent(String.self, forKey: .errmsg))
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Unknown worker message"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .unregister:
            var single = encoder.singleValueContainer()
            try single.encode(Tag.unregister.rawValue)
        case .register(let capacity):
            var container = encoder.container(keyedBy: Tag.self)
            var fields = container.nestedContainer(keyedBy: FieldKey.self, forKey: .register)
            try fields.encode(capacity, forKey: .capacity)
        case .finished(let id, let errmsg):
            var container = encoder.container(keyedBy: Tag.self)
            var fields = container.nestedContainer(keyedBy: FieldKey.self, forKey: .finished)
            try fields.encode(id, forKey: .id)
            // Upstream always sends the key, with null for success.
            if let errmsg { try fields.encode(errmsg, forKey: .errmsg) } else { try fields.encodeNil(forKey: .errmsg) }
        }
    }
}

/// The server's only message to a worker: `{"RequestDelta":{"id":…,"url":…,"repo":…,"delta":{"from":…,"to":…}}}`.
public struct DeltaAssignment: Sendable, Equatable, Codable {
    /// Per connection, from 1.
    public var id: UInt32
    /// The public URL of the repository to pull the commits from.
    public var url: String
    public var repo: String
    public var delta: Delta

    public init(id: UInt32, url: String, repo: String, delta: Delta) {
        self.id = id
        self.url = url
        self.repo = repo
        self.delta = delta
    }

    private enum Tag: String, CodingKey {
        case requestDelta = "RequestDelta"
    }

    private enum FieldKey: String, CodingKey {
        case id, url, repo, delta, from, to
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Tag.self)
        let fields = try container.nestedContainer(keyedBy: FieldKey.self, forKey: .requestDelta)
        let delta = try fields.nestedContainer(keyedBy: FieldKey.self, forKey: .delta)
        self.init(
            id: try fields.decode(UInt32.self, forKey: .id), url: try fields.decode(String.self, forKey: .url),
            repo: try fields.decode(String.self, forKey: .repo),
            delta: Delta(
                from: try delta.decodeIfPresent(String.self, forKey: .from),
                to: try delta.decode(String.self, forKey: .to)))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Tag.self)
        var fields = container.nestedContainer(keyedBy: FieldKey.self, forKey: .requestDelta)
        try fields.encode(id, forKey: .id)
        try fields.encode(url, forKey: .url)
        try fields.encode(repo, forKey: .repo)
        var deltaFields = fields.nestedContainer(keyedBy: FieldKey.self, forKey: .delta)
        if let from = delta.from {
            try deltaFields.encode(from, forKey: .from)
        } else {
            try deltaFields.encodeNil(forKey: .from)
        }
        try deltaFields.encode(delta.to, forKey: .to)
    }
}

/// JSON text of the worker protocol messages (one message per websocket text frame).
public enum DeltaWorkerJSON {
    public static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
