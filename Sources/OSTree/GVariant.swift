/// Why ostree data could not be read. Malformed input always ends here, never in a crash.
public enum GVariantError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A framing offset points outside its container or backwards.
    case badFraming(String)
    /// A string is not NUL-terminated UTF-8.
    case badString
    /// A checksum field is not 32 bytes.
    case badChecksum(String)
    /// A fixed-size value has the wrong size.
    case badSize(String)

    public var description: String {
        switch self {
        case .badFraming(let what): return "Malformed GVariant data: bad framing in \(what)"
        case .badString: return "Malformed GVariant data: invalid string"
        case .badChecksum(let what): return "Malformed GVariant data: \(what) is not a 32-byte checksum"
        case .badSize(let what): return "Malformed GVariant data: \(what) has the wrong size"
        }
    }
}

/// A decoded metadata value (the `v` of an `a{sv}`). Types the server does not need stay `other`.
/// Integers are read in GVariant's little-endian form; ostree stores some (timestamps, sizes) big-endian.
public enum GVariantValue: Sendable, Equatable {
    case string(String)
    case bytes([UInt8])
    case int32(Int32)
    case uint64(UInt64)
    case boolean(Bool)
    case stringArray([String])
    case other(type: String, data: [UInt8])
}

/// A read-only window on serialised GVariant bytes; positions are relative to the window's start,
/// which is where GVariant alignment and framing offsets count from.
struct GVariantSlice {
    let storage: [UInt8]
    let start: Int
    let count: Int

    init(_ bytes: [UInt8]) {
        self.storage = bytes
        self.start = 0
        self.count = bytes.count
    }

    private init(storage: [UInt8], start: Int, count: Int) {
        self.storage = storage
        self.start = start
        self.count = count
    }

    /// Bytes `lower..<upper` of this window; the caller has checked the bounds.
    func sub(_ lower: Int, _ upper: Int) -> GVariantSlice {
        GVariantSlice(storage: storage, start: start + lower, count: upper - lower)
    }

    subscript(_ index: Int) -> UInt8 { storage[start + index] }

    var bytes: [UInt8] { Array(storage[start..<(start + count)]) }

    /// Size of each framing offset in a container of this size (GVariant spec).
    var offsetSize: Int {
        switch count {
        case 0: return 0
        case 1...0xff: return 1
        case 0x100...0xffff: return 2
        case 0x1_0000...0xffff_ffff: return 4
        default: return 8
        }
    }

    /// The little-endian unsigned integer of `size` bytes at `position`.
    func littleEndian(at position: Int, size: Int) -> Int {
        let value = littleEndianUInt64(at: position, size: size)
        return value > UInt64(Int.max) ? Int.max : Int(value)
    }

    /// The same as a full `UInt64`.
    func littleEndianUInt64(at position: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(self[position + index]) << (8 * UInt64(index)) }
        return value
    }

    /// The unsigned integer of `size` bytes at `position`, most significant byte first.
    func bigEndian(at position: Int, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<size { value = value << 8 | UInt64(self[position + index]) }
        return value
    }

    /// The framing offset that ends at `end` (i.e. occupies `end - offsetSize ..< end`).
    func offset(endingAt end: Int) -> Int { littleEndian(at: end - offsetSize, size: offsetSize) }
}

/// How a member of a tuple is laid out: its alignment and, for fixed-size types, its size.
struct GVariantMember {
    let alignment: Int
    let fixedSize: Int?

    static let string = GVariantMember(alignment: 1, fixedSize: nil)
    static let byteArray = GVariantMember(alignment: 1, fixedSize: nil)
    static let uint64 = GVariantMember(alignment: 8, fixedSize: 8)
    static let uint32 = GVariantMember(alignment: 4, fixedSize: 4)
    static func variable(alignment: Int) -> GVariantMember { GVariantMember(alignment: alignment, fixedSize: nil) }
}

/// The few GVariant framing rules of server.md §6.2.
enum GVariantReader {
    static func alignUp(_ position: Int, _ alignment: Int) -> Int {
        (position + alignment - 1) / alignment * alignment
    }

    /// Splits a tuple (or dict entry) into its members.
    static func tuple(_ value: GVariantSlice, _ members: [GVariantMember], what: String) throws -> [GVariantSlice] {
        let offsetSize = value.offsetSize
        var tableStart = value.count
        var position = 0
        var result: [GVariantSlice] = []
        for (index, member) in members.enumerated() {
            position = alignUp(position, member.alignment)
            let end: Int
            if let size = member.fixedSize {
                end = position + size
            } else if index == members.count - 1 {
                end = tableStart
            } else {
                guard offsetSize > 0, tableStart - offsetSize >= 0 else { throw GVariantError.badFraming(what) }
                end = value.offset(endingAt: tableStart)
                tableStart -= offsetSize
            }
            guard position <= end, end <= tableStart else { throw GVariantError.badFraming(what) }
            result.append(value.sub(position, end))
            position = end
        }
        return result
    }

    /// Splits an array of variable-size elements.
    static func array(_ value: GVariantSlice, alignment: Int, what: String) throws -> [GVariantSlice] {
        guard value.count > 0 else { return [] }
        let offsetSize = value.offsetSize
        let tableStart = value.offset(endingAt: value.count)
        guard tableStart <= value.count - offsetSize, (value.count - tableStart) % offsetSize == 0 else {
            throw GVariantError.badFraming(what)
        }
        let elementCount = (value.count - tableStart) / offsetSize
        var result: [GVariantSlice] = []
        result.reserveCapacity(elementCount)
        var start = 0
        for index in 0..<elementCount {
            let end = value.offset(endingAt: tableStart + (index + 1) * offsetSize)
            start = alignUp(start, alignment)
            guard start <= end, end <= tableStart else { throw GVariantError.badFraming(what) }
            result.append(value.sub(start, end))
            start = end
        }
        return result
    }

    /// A NUL-terminated UTF-8 string.
    static func string(_ value: GVariantSlice) throws -> String {
        guard value.count > 0, value[value.count - 1] == 0 else { throw GVariantError.badString }
        let body = value.sub(0, value.count - 1).bytes
        guard !body.contains(0), let text = String(validating: body, as: UTF8.self) else {
            throw GVariantError.badString
        }
        return text
    }

    /// A 32-byte checksum as 64 lowercase hex characters.
    static func checksum(_ value: GVariantSlice, what: String) throws -> String {
        guard value.count == 32 else { throw GVariantError.badChecksum(what) }
        return Hex.encode(value.bytes)
    }

    /// An `a{sv}` dictionary. A value whose type we do not decode (or that is malformed) becomes `.other`.
    static func vardict(_ value: GVariantSlice, what: String) throws -> [String: GVariantValue] {
        var result: [String: GVariantValue] = [:]
        for entry in try array(value, alignment: 8, what: what) {
            let parts = try tuple(entry, [.string, .variable(alignment: 8)], what: what)
            result[try string(parts[0])] = try variant(parts[1], what: what)
        }
        return result
    }

    /// A `v`: the value, a NUL, then its type string (split at the last NUL).
    static func variant(_ value: GVariantSlice, what: String) throws -> GVariantValue {
        guard value.count > 0 else { return .other(type: "()", data: []) }
        guard let nul = (0..<value.count).last(where: { value[$0] == 0 }) else { throw GVariantError.badFraming(what) }
        let type = String(decoding: value.sub(nul + 1, value.count).bytes, as: UTF8.self)
        return decodeValue(value.sub(0, nul), type: type)
    }

    /// The value of a known type, or `.other` when the type is unknown or the bytes do not fit it.
    static func decodeValue(_ data: GVariantSlice, type: String) -> GVariantValue {
        switch type {
        case "s":
            if let text = try? string(data) { return .string(text) }
        case "ay":
            return .bytes(data.bytes)
        case "i" where data.count == 4:
            return .int32(Int32(truncatingIfNeeded: UInt32(data.littleEndian(at: 0, size: 4))))
        case "t" where data.count == 8:
            return .uint64(data.littleEndianUInt64(at: 0, size: 8))
        case "b" where data.count == 1:
            return .boolean(data[0] != 0)
        case "as":
            if let list = try? array(data, alignment: 1, what: "as").map(string) { return .stringArray(list) }
        default:
            break
        }
        return .other(type: type, data: data.bytes)
    }
}
