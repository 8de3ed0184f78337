/// The names a request may carry, each a value that can only hold a valid name (issue #10, hole 3/4).
///
/// Every name that arrives over HTTP ends up in a path join, a database row or a command line, so it is checked
/// against flatpak's and ostree's own grammar where it enters and carried as one of these values after that.
/// The grammars are ASCII only and byte based: NUL, `/`, `..`, whitespace and every non-ASCII scalar are outside
/// all of them, and none of them lets a name start with `-` (it would read as an option on a command line) or `.`.
/// Where flatpak and ostree disagree we take the stricter of the two, so that whatever passes here also passes
/// both tools later; honest clients never send anything else.
public protocol ValidatedName: Sendable, Hashable, CustomStringConvertible {
    /// The name as it came in; valid by construction.
    var rawValue: String { get }
    /// The name, or nil when `text` is not valid.
    init?(_ text: String)
    /// Whether `text` is a valid name of this kind.
    static func isValid(_ text: String) -> Bool
}

extension ValidatedName {
    public var description: String { rawValue }
}

/// A flatpak application or runtime id (`flatpak_is_valid_name`): at most 255 bytes, at least three `.`-separated
/// elements, each non-empty, made of `[A-Za-z0-9_]` and not starting with a digit; only the last element may also
/// contain (and start with) `-`.
public struct AppID: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...NameBytes.maxLength).contains(bytes.count) else { return false }
        let elements = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard elements.count >= 3 else { return false }
        for (index, element) in elements.enumerated() {
            let isLast = index == elements.count - 1
            guard let first = element.first,
                NameBytes.isLetterOrUnderscore(first) || (isLast && first == NameBytes.dash)
            else { return false }
            guard element.allSatisfy({ NameBytes.isWordByte($0) || (isLast && $0 == NameBytes.dash) }) else {
                return false
            }
        }
        return true
    }
}

/// An architecture (`flatpak_is_valid_arch`): 1–255 bytes of `[A-Za-z0-9_]`, e.g. `x86_64`, `aarch64`, `i386`.
public struct Arch: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...NameBytes.maxLength).contains(bytes.count) && bytes.allSatisfy(NameBytes.isWordByte)
    }
}

/// A branch: 1–255 bytes of `[A-Za-z0-9_.-]` starting with `[A-Za-z0-9_]`, e.g. `stable`, `1.0`, `23.08beta`.
///
/// flatpak (`flatpak_is_valid_branch`) also lets a branch start with `-`; ostree's refspec check does not, and a
/// leading `-` would read as an option on a command line, so we refuse it.
public struct Branch: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool { NameBytes.isSimpleName(text) }
}

/// The name of a configured repository (`/api/v1/repo/{repo}/...`, `"repo"` in bodies): 1–255 bytes of
/// `[A-Za-z0-9_.-]` starting with `[A-Za-z0-9_]`. Config validation refuses repository names outside this grammar,
/// so every configured repository stays reachable.
public struct RepoName: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool { NameBytes.isSimpleName(text) }
}

/// The name of a check (a key of `hooks.checks`; `/build/{id}/check/{check_name}/job`): the same grammar as a
/// repository name. Config validation refuses check names outside it.
public struct CheckName: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool { NameBytes.isSimpleName(text) }
}

/// An extra id of a build (api.md §4.12), appended to the repository's collection id at publish: `.`-separated
/// non-empty elements of alphanumerics, at most 255 bytes.
///
/// Upstream tests Unicode alphanumerics (Rust's `char::is_alphanumeric`); ostree collection ids are ASCII, so we
/// accept ASCII `[A-Za-z0-9]` only.
public struct ExtraID: ValidatedName {
    public let rawValue: String

    public init?(_ text: String) {
        guard Self.isValid(text) else { return nil }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...NameBytes.maxLength).contains(bytes.count) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { element in
            !element.isEmpty && element.allSatisfy(NameBytes.isAlphanumeric)
        }
    }
}

/// The byte classes the grammars above are made of.
enum NameBytes {
    /// flatpak's limit for ids; applied to every name.
    static let maxLength = 255
    static let dash = UInt8(ascii: "-")

    static func isLetterOrUnderscore(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || byte == UInt8(ascii: "_")
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (isLetterOrUnderscore(byte) && byte != UInt8(ascii: "_"))
    }

    /// `[A-Za-z0-9_]`.
    static func isWordByte(_ byte: UInt8) -> Bool { isLetterOrUnderscore(byte) || isDigit(byte) }

    /// 1–255 bytes of `[A-Za-z0-9_.-]`, the first one of `[A-Za-z0-9_]`.
    static func isSimpleName(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= maxLength, isWordByte(first) else { return false }
        return bytes.allSatisfy { isWordByte($0) || $0 == dash || $0 == UInt8(ascii: ".") }
    }
}
