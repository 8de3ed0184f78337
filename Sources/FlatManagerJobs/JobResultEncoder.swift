import FlatManagerCore

/// Encodes a job result to the compact JSON text stored in `jobs.results`, keys in the order they were encoded.
///
/// Foundation's `JSONEncoder` orders object keys as its dictionary does (or sorted): upstream's `refs` object lists
/// refs in build order, so results need an encoder that keeps the order. Strings are escaped as `JSONText.string`
/// does (the text the jobs produced before the result types existed); `/` is not escaped. It knows what results
/// use: objects, arrays, strings, integers, booleans and `null`.
enum JobResultEncoder {
    /// The JSON text of `value`.
    static func json(_ value: some Encodable) throws -> String {
        let root = JSONNode()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        return root.text
    }
}

/// One JSON value under construction; a class because nested containers write into it after it was attached.
private final class JSONNode {
    enum Value {
        case empty
        case scalar(String)
        case array([JSONNode])
        case object([(key: String, node: JSONNode)])
    }

    var value = Value.empty

    var text: String {
        switch value {
        case .empty: return "{}"
        case .scalar(let text): return text
        case .array(let nodes): return "[" + nodes.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { JSONText.string($0.key) + ":" + $0.node.text }.joined(separator: ",") + "}"
        }
    }

    /// Turns an empty node into an object and appends a member.
    func append(key: String) -> JSONNode {
        let child = JSONNode()
        if case .object(var members) = value {
            members.append((key, child))
            value = .object(members)
        } else {
            value = .object([(key, child)])
        }
        return child
    }

    /// Turns an empty node into an array and appends an element.
    func appendElement() -> JSONNode {
        let child = JSONNode()
        if case .array(var nodes) = value {
            nodes.append(child)
            value = .array(nodes)
        } else {
            value = .array([child])
        }
        return child
    }

    var count: Int {
        if case .array(let nodes) = value { return nodes.count }
        return 0
    }
}

private struct NodeEncoder: Encoder {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .empty = node.value { node.value = .object([]) }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .empty = node.value { node.value = .array([]) }
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueNodeContainer(node: node, codingPath: codingPath)
    }
}

/// The scalar text of the values results use, or `nil` for anything that must go through `encode(to:)`.
private func scalarText(_ value: some Encodable) -> String? {
    switch value {
    case let string as String: return JSONText.string(string)
    case let bool as Bool: return bool ? "true" : "false"
    case let int as any BinaryInteger: return "\(int)"
    default: return nil
    }
}

private func encode(_ value: some Encodable, into node: JSONNode, codingPath: [any CodingKey]) throws {
    if let text = scalarText(value) {
        node.value = .scalar(text)
    } else {
        try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        node.append(key: key.stringValue).value = .scalar("null")
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try FlatManagerJobs.encode(value, into: node.append(key: key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = node.append(key: key.stringValue)
        child.value = .object([])
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.append(key: key.stringValue)
        child.value = .array([])
        return UnkeyedNodeContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.append(key: "super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.append(key: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws {
        node.appendElement().value = .scalar("null")
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try FlatManagerJobs.encode(value, into: node.appendElement(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = node.appendElement()
        child.value = .object([])
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appendElement()
        child.value = .array([])
        return UnkeyedNodeContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.appendElement(), codingPath: codingPath)
    }
}

private struct SingleValueNodeContainer: SingleValueEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws {
        node.value = .scalar("null")
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try FlatManagerJobs.encode(value, into: node, codingPath: codingPath)
    }
}
