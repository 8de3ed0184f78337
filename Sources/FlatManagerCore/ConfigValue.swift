// The decoding rules of config.json (server.md §1.2), shared by every `Decodable` config type: how a key may be
// left out, how each kind of value is read, and what an operator is told when it is wrong.
//
// The decoder is only trusted to tell the kinds of JSON value apart; every refusal is a `ConfigDecodingProblem`
// thrown here, at the decoder's coding path, with our wording (upstream's strictness, our messages).

/// A problem found while decoding config.json, at the key path an operator would write
/// (`repos.stable.deltas[0].depth`). `Config.parse` adds the file and turns it into a `ConfigError`.
struct ConfigDecodingProblem: Error {
    var keyPath: String
    var message: String

    init(at codingPath: [any CodingKey], _ message: String) {
        keyPath = Self.keyPath(codingPath)
        self.message = message
    }

    /// Object members joined by dots, array elements as `[index]`.
    ///
    /// Only the decoder's array positions carry an `intValue`: our keys (`ConfigKey`, the `CodingKeys` enums) are
    /// names, so a repository called `0` stays `repos.0`.
    static func keyPath(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return path
    }
}

/// Any member name. It lists the keys an object has (to refuse unknown ones) and walks the objects whose keys are
/// names chosen by the operator (`repos`, `subsets`, `hooks.checks`).
struct ConfigKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// This value as an object keyed by `Keys`. With `refusingUnknownKeys` a member that `Keys` does not name is
    /// an error naming it (the first in sorted order, so the error does not depend on hashing).
    func object<Keys: CodingKey>(
        keyedBy _: Keys.Type, refusingUnknownKeys: Bool = true
    ) throws -> KeyedDecodingContainer<Keys> {
        let members = try namedMembers()
        if refusingUnknownKeys,
            let unknown = members.allKeys.map(\.stringValue).sorted().first(where: { Keys(stringValue: $0) == nil })
        {
            throw ConfigDecodingProblem(at: codingPath + [ConfigKey(stringValue: unknown)], "unknown key")
        }
        return try container(keyedBy: Keys.self)
    }

    /// This value as an object of any keys.
    func namedMembers() throws -> KeyedDecodingContainer<ConfigKey> {
        guard let members = try? container(keyedBy: ConfigKey.self) else {
            throw ConfigDecodingProblem(at: codingPath, "expected an object")
        }
        return members
    }
}

/// How a key may be left out. Upstream's rules (server.md §1.2): a required key must be there and not `null`; an
/// optional key may be absent or `null`; a key with a default may be absent but not `null`.
extension KeyedDecodingContainer {
    /// A key that must be present and not `null`.
    func required<Value>(_ key: Key, _ value: ConfigValue<Value>) throws -> Value {
        guard contains(key) else { throw ConfigDecodingProblem(at: codingPath + [key], "missing required key") }
        if try decodeNil(forKey: key) { throw ConfigDecodingProblem(at: codingPath + [key], "must not be null") }
        return try value.read(superDecoder(forKey: key))
    }

    /// A key that may be absent or `null`, both meaning "not set".
    func optional<Value>(_ key: Key, _ value: ConfigValue<Value>) throws -> Value? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try value.read(superDecoder(forKey: key))
    }

    /// A key that may be absent (giving `fallback`) but not `null`.
    func defaulted<Value>(_ key: Key, _ fallback: Value, _ value: ConfigValue<Value>) throws -> Value {
        guard contains(key) else { return fallback }
        if try decodeNil(forKey: key) {
            throw ConfigDecodingProblem(at: codingPath + [key], "must not be null (omit the key for the default)")
        }
        return try value.read(superDecoder(forKey: key))
    }

    /// A key that may be absent but not `null`, and has no default: upstream's `repo-secret`.
    func omittable<Value>(_ key: Key, _ value: ConfigValue<Value>) throws -> Value? {
        guard contains(key) else { return nil }
        return try required(key, value)
    }
}

/// How one value of config.json is read, and the message when it is of the wrong kind or out of range.
struct ConfigValue<Value> {
    let read: (any Decoder) throws -> Value
}

extension ConfigValue where Value == String {
    static var string: Self {
        Self { decoder in
            guard let string = try? decoder.singleValueContainer().decode(String.self) else {
                throw ConfigDecodingProblem(at: decoder.codingPath, "expected a string")
            }
            return string
        }
    }
}

extension ConfigValue where Value == Bool {
    static var bool: Self {
        Self { decoder in
            guard let bool = try? decoder.singleValueContainer().decode(Bool.self) else {
                throw ConfigDecodingProblem(at: decoder.codingPath, "expected true or false")
            }
            return bool
        }
    }
}

extension ConfigValue where Value == Int {
    /// An integer within `range`: a fraction, a string or a number beyond `range` is refused, so that no
    /// configured number can trap where it is used (issue #10).
    static func integer(in range: ClosedRange<Int>) -> Self {
        Self { decoder in
            guard let integer = try? decoder.singleValueContainer().decode(Int.self), range.contains(integer) else {
                throw ConfigDecodingProblem(at: decoder.codingPath, integerMessage(range))
            }
            return integer
        }
    }

    static func integerMessage(_ range: ClosedRange<Int>) -> String {
        "expected an integer in \(range.lowerBound)...\(range.upperBound)"
    }
}

extension ConfigValue where Value == [String] {
    static var strings: Self {
        Self { decoder in
            guard let strings = try? decoder.singleValueContainer().decode([String].self) else {
                throw ConfigDecodingProblem(at: decoder.codingPath, "expected an array of strings")
            }
            return strings
        }
    }

    /// A string or an array of strings (0.5's `gpg-key`); an empty array counts as absent.
    static var keyList: Self {
        Self { decoder in
            if let key = try? decoder.singleValueContainer().decode(String.self) { return [key] }
            return try strings.read(decoder)
        }
    }
}

extension ConfigValue where Value == [Int32] {
    /// Token types (`require-auth-for-token-types`): an element of the wrong kind is reported at the array's key.
    static var tokenTypes: Self {
        Self { decoder in
            guard var list = try? decoder.unkeyedContainer() else {
                throw ConfigDecodingProblem(at: decoder.codingPath, "expected an array")
            }
            var types: [Int32] = []
            while !list.isAtEnd {
                guard let type = try? list.decode(Int32.self) else {
                    let message = ConfigValue<Int>.integerMessage(Int(Int32.min)...Int(Int32.max))
                    throw ConfigDecodingProblem(at: decoder.codingPath, message)
                }
                types.append(type)
            }
            return types
        }
    }
}

extension ConfigValue where Value == LogFormat {
    static var logFormat: Self {
        Self { decoder in
            guard let format = LogFormat(rawValue: try ConfigValue<String>.string.read(decoder)) else {
                throw ConfigDecodingProblem(at: decoder.codingPath, #"expected "text" or "json""#)
            }
            return format
        }
    }
}

extension ConfigValue where Value: Decodable {
    /// A nested object that declares its own keys in its `Decodable` conformance.
    static var object: Self {
        Self { decoder in try Value(from: decoder) }
    }
}

extension ConfigValue {
    /// An array of objects; a problem inside one is reported at its position (`deltas[0].depth`).
    static func list<Element: Decodable>(of _: Element.Type) -> Self where Value == [Element] {
        Self { decoder in
            guard var list = try? decoder.unkeyedContainer() else {
                throw ConfigDecodingProblem(at: decoder.codingPath, "expected an array")
            }
            var elements: [Element] = []
            while !list.isAtEnd {
                elements.append(try list.decode(Element.self))
            }
            return elements
        }
    }

    /// An object whose keys are names chosen by the operator (`repos`, `subsets`, `hooks.checks`); each member
    /// learns its name from the last key of its coding path. Members are read in sorted order, so that of several
    /// problems the same one is always reported.
    static func named<Element: Decodable>(_: Element.Type) -> Self where Value == [String: Element] {
        Self { decoder in
            let members = try decoder.namedMembers()
            var elements: [String: Element] = [:]
            for key in members.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                elements[key.stringValue] = try members.decode(Element.self, forKey: key)
            }
            return elements
        }
    }
}
