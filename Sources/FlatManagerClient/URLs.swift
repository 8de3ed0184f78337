import Foundation

/// How the client derives endpoint URLs from the URLs it is given (client.md A.7.1, A.7.2, B.2).
enum URLs {
    /// Python's `urljoin(base, relative)` for a relative path without `..`: the base's last path element is
    /// replaced unless the base path ends in `/`; query and fragment of the base are dropped.
    static func join(_ base: String, _ relative: String) -> String {
        let (origin, path) = split(base)
        let directory = path.isEmpty ? "/" : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return origin + (directory.hasPrefix("/") ? directory : "/" + directory) + relative
    }

    /// The API base for a build URL: `http://h/api/v1/build/42` → `http://h/api/v1` (the last two path
    /// elements removed; a trailing slash on the build URL is ignored).
    static func apiBase(buildURL: String) -> String {
        var (origin, path) = split(buildURL)
        while path.hasSuffix("/") { path.removeLast() }
        var elements = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        elements.removeLast(min(2, max(0, elements.count - 1)))
        return origin + elements.joined(separator: "/")
    }

    /// The URL of job `id` next to a build URL (`U` of client.md A.7.2 step 14).
    static func job(_ id: Int64, buildURL: String) -> String {
        apiBase(buildURL: buildURL) + "/job/\(id)"
    }

    /// The manager URL for a build URL (0.5's minimal-token derivation): the API base without `/api/v1`.
    static func manager(buildURL: String) -> String {
        let base = apiBase(buildURL: buildURL)
        return base.hasSuffix("/api/v1") ? String(base.dropLast("/api/v1".count)) : base
    }

    /// The build id at the end of a build URL, if it ends in a number.
    static func buildID(buildURL: String) -> String? {
        var (_, path) = split(buildURL)
        while path.hasSuffix("/") { path.removeLast() }
        guard let last = path.split(separator: "/").last, Int(last) != nil else { return nil }
        return String(last)
    }

    /// A build URL without trailing slashes, to append endpoint paths to.
    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// `scheme://authority` and the path (query and fragment removed).
    static func split(_ url: String) -> (origin: String, path: String) {
        var rest = Substring(url)
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        guard let schemeEnd = rest.range(of: "://") else { return ("", String(rest)) }
        let afterScheme = rest[schemeEnd.upperBound...]
        let pathStart = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        return (String(rest[..<pathStart]), String(rest[pathStart...]))
    }
}
