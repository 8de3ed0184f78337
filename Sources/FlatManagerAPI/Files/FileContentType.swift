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
        let name = basename(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "application/octet-stream" }
        return types[name[name.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }

    /// `inline` for text, image and video types, `attachment` otherwise; informational only.
    static func disposition(forFile path: String) -> String {
        let type = forFile(path)
        let inline = type.hasPrefix("text/") || type.hasPrefix("image/") || type.hasPrefix("video/")
        return "\(inline ? "inline" : "attachment"); filename=\"\(quoted(basename(path)))\""
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
