// Stub of the OSTree API the client codes against; deleted at merge (the real module replaces it).

public struct ObjectName: Sendable, Hashable {
    public let checksum: String
    public let type: ObjectType
    public init?(_ fileName: String) { fatalError("stub") }
    public init(checksum: String, type: ObjectType) { fatalError("stub") }
    public var fileName: String { fatalError("stub") }
    public var relativePath: String { fatalError("stub") }
}

public enum ObjectType: String, Sendable, CaseIterable { case dirtree, dirmeta, filez, commit }

public struct LocalRepo: Sendable {
    public init(path: String) throws { fatalError("stub") }
    public func refs() throws -> [String: String] { fatalError("stub") }
    public func resolve(_ refOrCommit: String) throws -> String { fatalError("stub") }
    public func objectPath(_ name: ObjectName) -> String { fatalError("stub") }
    public func closure(ofCommits: [String]) throws -> PushClosure { fatalError("stub") }
    public func staticDeltaParts(forCommit: String) throws -> [(fileName: String, path: String)] { fatalError("stub") }
}

public struct PushClosure: Sendable {
    public var metadata: [ObjectName]
    public var files: [ObjectName]
    public var filesByTree: [String: [ObjectName]]
}
