import SystemPackage

/// The kinds of ostree object a client may upload (server.md §4.2). `.commitmeta`, `.file` etc. are not among them.
public enum ObjectType: String, Sendable, CaseIterable {
    case dirtree, dirmeta, filez, commit

    /// The type spelled by these UTF-8 bytes, nil for anything else.
    init?(utf8 bytes: UnsafeRawBufferPointer) {
        // Told apart by length and one letter, then compared whole (this runs for every name of a listing).
        let type: ObjectType
        switch bytes.count {
        case 5: type = .filez
        case 6: type = .commit
        case 7 where bytes[4] == UInt8(ascii: "r"): type = .dirtree
        case 7: type = .dirmeta
        default: return nil
        }
        var spelled = type.rawValue
        let same = spelled.withUTF8 { $0.elementsEqual(bytes) }
        guard same else { return nil }
        self = type
    }
}

/// An object file name `<64 lowercase hex>.<type>`, validated.
public struct ObjectName: Sendable, Hashable, CustomStringConvertible {
    /// 64 lowercase hex characters.
    public let checksum: String
    public let type: ObjectType

    /// Parses exactly `<64 lowercase hex>.<dirtree|dirmeta|filez|commit>`; anything else is `nil`.
    public init?(_ fileName: String) {
        // From the bytes (every uploaded object's name goes through here): the same names as splitting at the dot.
        var fileName = fileName
        guard let name = fileName.withUTF8({ ObjectName(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = name
    }

    /// Parses the same names as `init(_:)` from UTF-8 bytes without splitting them into pieces first (`missing_objects`
    /// reads up to ~140,000 names per request).
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 65, bytes[64] == UInt8(ascii: "."),
            let type = ObjectType(utf8: UnsafeRawBufferPointer(rebasing: bytes[65...]))
        else { return nil }
        var invalid = false
        for index in 0..<64 { _ = Hex.lowerNibble(bytes[index], invalid: &invalid) }
        guard !invalid else { return nil }
        self.checksum = String(unsafeUninitializedCapacity: 64) { target in
            _ = target.initialize(from: UnsafeRawBufferPointer(rebasing: bytes[..<64]))
            return 64
        }
        self.type = type
    }

    /// Trusts `checksum` to be 64 lowercase hex characters (it comes from parsed ostree data).
    public init(checksum: String, type: ObjectType) {
        self.checksum = checksum
        self.type = type
    }

    /// `<checksum>.<type>`, the name used on the wire.
    public var fileName: String { "\(checksum).\(type.rawValue)" }

    /// `objects/<first 2>/<remaining 62>.<type>`, relative to the repo.
    public var relativePath: FilePath {
        FilePath("objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(type.rawValue)")
    }

    public var description: String { fileName }
}

/// A static delta part upload name `<delta name>.<part>.delta` (api.md §4.13), validated.
public struct DeltaPartName: Sendable, Hashable {
    /// 43 characters, or 87 with `-` at index 43, of ostree's modified base64.
    public let deltaName: String
    /// `superblock` or a part number (all digits).
    public let part: String

    /// Parses `<name>.<part>.delta`; `nil` unless every piece is valid.
    public init?(_ fileName: String) {
        let parts = fileName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "delta", Self.isDeltaName(parts[0]), Self.isPart(parts[1]) else {
            return nil
        }
        self.deltaName = String(parts[0])
        self.part = String(parts[1])
    }

    /// `deltas/<name[0..2]>/<name[2...]>/<part>`, relative to the repo.
    public var relativePath: FilePath { FilePath("deltas/\(deltaName.prefix(2))/\(deltaName.dropFirst(2))/\(part)") }

    /// `<name>.<part>.delta`.
    public var fileName: String { "\(deltaName).\(part).delta" }

    /// 43 characters, or 87 with `-` at index 43, everything else from `A-Za-z0-9+_`.
    static func isDeltaName(_ name: Substring) -> Bool {
        let bytes = Array(name.utf8)
        switch bytes.count {
        case 43: return bytes.allSatisfy(isNameByte)
        case 87:
            return bytes[43] == UInt8(ascii: "-") && bytes[..<43].allSatisfy(isNameByte)
                && bytes[44...].allSatisfy(isNameByte)
        default: return false
        }
    }

    /// `superblock` or one or more ASCII digits. Upstream also accepts an empty part; we do not, on purpose.
    static func isPart(_ part: Substring) -> Bool {
        part == "superblock"
            || (!part.isEmpty && part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

/// The file name of one part of an upload: an object or a delta part; any `/` makes it invalid.
public enum UploadFileName: Sendable, Hashable {
    case object(ObjectName)
    case deltaPart(DeltaPartName)

    public init?(_ fileName: String) {
        guard !fileName.utf8.contains(UInt8(ascii: "/")) else { return nil }
        if let object = ObjectName(fileName) {
            self = .object(object)
        } else if let part = DeltaPartName(fileName) {
            self = .deltaPart(part)
        } else {
            return nil
        }
    }

    /// Where the file lands, relative to the target repo.
    public var relativePath: FilePath {
        switch self {
        case .object(let name): return name.relativePath
        case .deltaPart(let name): return name.relativePath
        }
    }
}

/// Hex helpers for 32-byte checksums.
enum Hex {
    /// Exactly 64 lowercase hex digits.
    static func isChecksum<S: StringProtocol>(_ text: S) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy(isLowerHexDigit)
    }

    /// The value of the lowercase hex digit `byte`; any other byte sets `invalid` (and gives a meaningless value).
    /// Without branches on the digit, which are unpredictable for checksums.
    @inline(__always)
    static func lowerNibble(_ byte: UInt8, invalid: inout Bool) -> UInt8 {
        let digit = byte &- UInt8(ascii: "0")
        let letter = byte &- UInt8(ascii: "a")
        invalid = invalid || (digit > 9 && letter > 5)
        return digit <= 9 ? digit : letter &+ 10
    }

    static func isLowerHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    /// Lowercase hex of `bytes`.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a lowercase (or uppercase) hex string; `nil` if odd length or not hex.
    static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
