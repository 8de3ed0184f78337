import Foundation
import SystemPackage

/// A static delta: from a commit (or from nothing) to a commit (server.md §5.1).
public struct Delta: Sendable, Hashable, CustomStringConvertible {
    /// The source commit, 64 lowercase hex; `nil` for a from-scratch delta.
    public var from: String?
    /// The target commit, 64 lowercase hex.
    public var to: String

    public init(from: String?, to: String) {
        self.from = from
        self.to = to
    }

    /// Decodes a delta name (`<to>` or `<from>-<to>` in ostree's modified base64); `nil` if it is not one.
    public init?(name: String) {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            guard let to = Self.decodeChecksum(parts[0]) else { return nil }
            self.init(from: nil, to: to)
        case 2:
            guard let from = Self.decodeChecksum(parts[0]), let to = Self.decodeChecksum(parts[1]) else { return nil }
            self.init(from: from, to: to)
        default:
            return nil
        }
    }

    /// `<encoded to>` or `<encoded from>-<encoded to>`.
    public var name: String {
        let encodedTo = Self.encodeChecksum(to)
        guard let from else { return encodedTo }
        return "\(Self.encodeChecksum(from))-\(encodedTo)"
    }

    /// `deltas/<name[0..2]>/<name[2...]>`, relative to the repo.
    public var directory: FilePath {
        let name = self.name
        return FilePath("deltas/\(name.prefix(2))/\(name.dropFirst(2))")
    }

    /// `<from hex or "nothing">-<to hex>`, as logged by update-repo (without upstream's stray newline).
    public var displayName: String { "\(from ?? "nothing")-\(to)" }

    public var description: String { displayName }

    /// Standard base64 of the 32 bytes, no padding, `/` replaced by `_`.
    /// A checksum that is not hex is encoded as its UTF-8 bytes (never happens for values we create).
    static func encodeChecksum(_ hex: String) -> String {
        let bytes = Hex.decode(hex) ?? Array(hex.utf8)
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text.replacingOccurrences(of: "/", with: "_")
    }

    /// The inverse of `encodeChecksum`: 43 characters that decode to exactly 32 bytes, as lowercase hex.
    static func decodeChecksum(_ encoded: Substring) -> String? {
        guard encoded.utf8.count == 43, !encoded.contains("/"), !encoded.contains("=") else { return nil }
        let standard = encoded.replacingOccurrences(of: "_", with: "/") + "="
        guard let data = Data(base64Encoded: standard), data.count == 32 else { return nil }
        let hex = Hex.encode(data)
        // Unused low bits in the last character would give a second spelling of the same delta: refuse it.
        guard encodeChecksum(hex) == encoded else { return nil }
        return hex
    }
}
