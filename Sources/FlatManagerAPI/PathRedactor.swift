import FlatManagerCore
import Foundation
import SystemPackage

/// Takes the server's absolute paths out of job output shown to anonymous viewers of the status pages (issue #10).
///
/// Job logs and results carry command lines, tool errors and hook output, and with them where the repositories,
/// build repositories and GnuPG home live. First every configured directory (as configured and with symlinks
/// resolved) becomes a named placeholder, so the rest of the line stays readable (`<repo:stable>/objects/...`);
/// then any other absolute path that starts a word becomes `<path>`, since a tool may name files we did not
/// configure (a temporary directory, the hook's own script, a symlink target).
public struct PathRedactor: Sendable {
    /// Configured directories and their placeholders, longest path first so that a directory inside another is
    /// replaced by its own name.
    let replacements: [(path: String, placeholder: String)]

    public init(config: Config) {
        var named: [(String, String)] = [(config.buildRepoBase.string, "<build-repo-base>")]
        for (name, repo) in config.repos { named.append((repo.path.string, "<repo:\(name)>")) }
        if let home = config.gpgHomedir { named.append((home.string, "<gpg-homedir>")) }
        var all: [(path: String, placeholder: String)] = []
        for (path, placeholder) in named {
            all.append((path, placeholder))
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            if resolved != path { all.append((resolved, placeholder)) }
        }
        // "/" alone would swallow every path; it is left to the generic rule.
        replacements = all.filter { $0.path.count > 1 }.sorted { $0.path.count > $1.path.count }
    }

    /// `text` without absolute paths.
    func redact(_ text: String) -> String {
        var text = text
        for (path, placeholder) in replacements where text.contains(path) {
            text = text.replacingOccurrences(of: path, with: placeholder)
        }
        return Self.redactAbsolutePaths(text)
    }

    /// Every `/` that starts a word (at the start, after white space, a quote, `=`, `(`, `[` or `,`) and is
    /// followed by a path byte begins a path that runs to the next separator; it becomes `<path>`. A `/` after `:`
    /// does not start a word, so URLs stay readable.
    static func redactAbsolutePaths(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        var previous: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : nil
            if byte == slash, previous.map(startsWord(after:)) ?? true, let next, isPathByte(next) {
                var end = index + 1
                while end < bytes.count, isPathByte(bytes[end]) { end += 1 }
                out.append(contentsOf: Array("<path>".utf8))
                previous = bytes[end - 1]
                index = end
                continue
            }
            out.append(byte)
            previous = byte
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let slash = UInt8(ascii: "/")

    private static func startsWord(after byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\""),
            UInt8(ascii: "'"), UInt8(ascii: "="), UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: ","),
            UInt8(ascii: "`"):
            return true
        default:
            return false
        }
    }

    /// Anything but white space, quotes and the punctuation that ends a path in prose (`:` `;` `,` `)` `]` `<` `>`).
    private static func isPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\""),
            UInt8(ascii: "'"), UInt8(ascii: "`"), UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: ","),
            UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            return false
        default:
            return true
        }
    }
}
