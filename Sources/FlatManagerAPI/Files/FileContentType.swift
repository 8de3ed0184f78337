/// Content-Type and Content-Disposition for served files, guessed from the file name.
enum FileContentType {
    /// Extensions with a type other than `application/octet-stream`. Compressed files (`.gz`) stay
    /// octet-stream on purpose: a typed or encoded answer makes clients unpack ostree's data.
    private static let types: [String: String] = [
        "txt": "text/plain",
        "html": "text/html",
        "htm": "text/html",
        "css": "text/css",
        "js": "text/javascript",
        "json": "application/json",
        "xml": "application/xml",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "svg": "image/svg+xml",
        "webp": "image/webp",
        "ico": "image/x-icon",
        "mp4": "video/mp4",
        "webm": "video/webm",
        "flatpakref": "application/vnd.flatpak.ref",
        "flatpakrepo": "application/vnd.flatpak.repo",
    ]

    static func forFile(_ path: String) -> String {
        forName(Substring(basename(path)))
    }

    /// The type for a file name (a last path segment). Names whose extension cannot be a known one (ostree's
    /// `.filez`, `.dirtree`, no extension) are answered without building a lowercased key.
    static func forName(_ name: Substring) -> String {
        var name = name
        return name.withUTF8 { forName(UnsafeRawBufferPointer($0)) }
    }

    /// `forName` of a name's bytes.
    static func forName(_ name: UnsafeRawBufferPointer) -> String {
        known(name) ?? "application/octet-stream"
    }

    /// The type for a name's bytes when it is not `application/octet-stream`. ostree's own suffixes are answered
    /// without building a lowercased key (the fast path's commonest case: no string at all).
    static func known(_ name: UnsafeRawBufferPointer) -> String? {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot != 0 else { return nil }
        let suffix = UnsafeRawBufferPointer(rebasing: name[(dot + 1)...])
        guard (2...11).contains(suffix.count) else { return nil }
        switch suffix.count {
        case 3 where suffix.elementsEqual("sig".utf8), 5 where suffix.elementsEqual("filez".utf8),
            7 where suffix.elementsEqual("dirtree".utf8) || suffix.elementsEqual("dirmeta".utf8),
            10 where suffix.elementsEqual("commitmeta".utf8):
            return nil
        default:
            break
        }
        return types[String(decoding: suffix, as: UTF8.self).lowercased()]
    }

    /// Whether files of `type` are shown (`inline`) rather than saved (`attachment`).
    static func isInline(_ type: String) -> Bool {
        type.hasPrefix("text/") || type.hasPrefix("image/") || type.hasPrefix("video/")
    }

    /// `inline` for text, image and video types, `attachment` otherwise; informational only.
    static func disposition(forFile path: String) -> String {
        "\(isInline(forFile(path)) ? "inline" : "attachment"); filename=\"\(quoted(basename(path)))\""
    }

    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Escapes `"` and `\` for a quoted-string, and drops control characters a header cannot carry.
    private static func quoted(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7f {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
