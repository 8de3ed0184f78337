/// A commit object, type `(a{sv}aya(say)sstayay)` (server.md §6.3).
public struct CommitObject: Sendable {
    public var metadata: [String: GVariantValue]
    /// The parent commit (64 lowercase hex), `nil` for the first commit of a history.
    public var parent: String?
    public var subject: String
    public var body: String
    /// Seconds since the epoch (stored big-endian by ostree).
    public var timestamp: UInt64
    /// The root directory's dirtree checksum.
    public var rootTree: String
    /// The root directory's dirmeta checksum.
    public var rootMeta: String

    /// The commit's layout: metadata, parent, related, subject, body, timestamp, root tree, root meta.
    static let members: [GVariantMember] = [
        .variable(alignment: 8), .byteArray, .byteArray, .string, .string, .uint64, .byteArray, .byteArray,
    ]

    /// Parses the bytes of a `.commit` file.
    public init(data: [UInt8]) throws {
        try self.init(GVariantSlice(data))
    }

    init(_ value: GVariantSlice) throws {
        let parts = try GVariantReader.tuple(value, Self.members, what: "commit")
        metadata = try GVariantReader.vardict(parts[0], what: "commit metadata")
        parent = parts[1].count == 0 ? nil : try GVariantReader.checksum(parts[1], what: "commit parent")
        subject = try GVariantReader.string(parts[3])
        body = try GVariantReader.string(parts[4])
        timestamp = parts[5].bigEndian(at: 0, size: 8)
        rootTree = try GVariantReader.checksum(parts[6], what: "commit root tree")
        rootMeta = try GVariantReader.checksum(parts[7], what: "commit root meta")
    }

    /// `xa.token-type` (flatpak stores it little-endian). `nil` when absent; a value that is not an `i` reads as 0,
    /// as upstream treats a failed read.
    public var tokenType: Int32? {
        guard let value = metadata["xa.token-type"] else { return nil }
        if case .int32(let type) = value { return type }
        return 0
    }

    /// `ostree.ref-binding`: the refs this commit may be found under, if bound.
    public var refBinding: [String]? {
        if case .stringArray(let refs) = metadata["ostree.ref-binding"] { return refs }
        return nil
    }

    /// A string-valued metadata key, e.g. `ostree.endoflife` or `xa.ref`.
    public func string(_ key: String) -> String? {
        if case .string(let text) = metadata[key] { return text }
        return nil
    }
}

/// A static delta superblock (server.md §6.4); only the embedded `to` commit is used.
public struct DeltaSuperblock: Sendable {
    /// The commit the delta leads to.
    public var commit: CommitObject
    /// The source commit, `nil` for a from-scratch delta.
    public var from: String?
    /// The target commit.
    public var to: String

    /// Metadata, timestamp, from, to, commit, prerequisites, part headers, fallbacks.
    static let members: [GVariantMember] = [
        .variable(alignment: 8), .uint64, .byteArray, .byteArray, .variable(alignment: 8), .byteArray,
        .variable(alignment: 8), .variable(alignment: 8),
    ]

    /// Parses the bytes of a `superblock` file.
    public init(data: [UInt8]) throws {
        let parts = try GVariantReader.tuple(GVariantSlice(data), Self.members, what: "delta superblock")
        from = parts[2].count == 0 ? nil : try GVariantReader.checksum(parts[2], what: "delta from")
        to = try GVariantReader.checksum(parts[3], what: "delta to")
        commit = try CommitObject(parts[4])
    }
}

/// A directory listing object, type `(a(say)a(sayay))`: files by content checksum, subdirectories by
/// dirtree and dirmeta checksum. Only the client walks these (to know what to upload).
public struct DirTree: Sendable {
    public var files: [(name: String, checksum: String)]
    public var directories: [(name: String, tree: String, meta: String)]

    /// Parses the bytes of a `.dirtree` file.
    public init(data: [UInt8]) throws {
        let parts = try GVariantReader.tuple(GVariantSlice(data), [.byteArray, .byteArray], what: "dirtree")
        files = try GVariantReader.array(parts[0], alignment: 1, what: "dirtree files").map { entry in
            let fields = try GVariantReader.tuple(entry, [.string, .byteArray], what: "dirtree file")
            return (try GVariantReader.string(fields[0]), try GVariantReader.checksum(fields[1], what: "file checksum"))
        }
        directories = try GVariantReader.array(parts[1], alignment: 1, what: "dirtree dirs").map { entry in
            let fields = try GVariantReader.tuple(entry, [.string, .byteArray, .byteArray], what: "dirtree dir")
            return (
                try GVariantReader.string(fields[0]), try GVariantReader.checksum(fields[1], what: "dirtree checksum"),
                try GVariantReader.checksum(fields[2], what: "dirmeta checksum")
            )
        }
    }
}
