/// Why a file under `/repo` or `/build-repo` cannot be served. All are plain-text answers.
public enum FileServingError: Error, Sendable, Equatable {
    /// The path breaks the segment rules (400).
    case badPath(String)
    /// Nothing there, or it escapes the allowed roots (404).
    case notFound
    /// A directory (404 "Ignoring directory", as upstream).
    case isDirectory

    /// The plain-text body for the error response.
    public var message: String {
        switch self {
        case .badPath(let detail): detail
        case .notFound: "File not found"
        case .isDirectory: "Ignoring directory"
        }
    }
}

/// The path-segment rules of upstream's file routes (api.md §7.1).
public enum RepoPath {
    /// Splits an already percent-decoded path tail into safe segments: empty segments are skipped,
    /// `..` pops the previous segment (an error if there is none), and a segment starting with `.`
    /// or `*` or ending with `:`, `<` or `>` is refused — so nothing in `deltas/.tmp` or any other
    /// dot-directory is directly reachable. `+` is an ordinary character (delta names contain it).
    public static func normalize(_ tail: String) throws(FileServingError) -> [String] {
        var segments: [String] = []
        for segment in tail.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == ".." {
                guard segments.popLast() != nil else { throw .badPath("Path segments goes outside parent") }
                continue
            }
            try check(segment)
            segments.append(String(segment))
        }
        return segments
    }

    /// Upstream's texts are those of its web framework's segment checks.
    private static func check(_ segment: Substring) throws(FileServingError) {
        if let first = segment.first, first == "." || first == "*" {
            throw .badPath("The segment started with the wrapped invalid character")
        }
        if let last = segment.last, last == ":" || last == "<" || last == ">" {
            throw .badPath("The segment ended with the wrapped invalid character")
        }
        // A NUL would silently truncate the path in the C calls underneath.
        if segment.contains("\0") {
            throw .badPath("The segment contained the wrapped invalid character")
        }
    }
}

/// Joins normalised segments onto a root and refuses results that leave it through symlinks.
public enum ConfinedPath {
    /// The real path of `root/segments...`, provided it lies under the real path of `root` or of
    /// one of `alsoAllowed` (a build repo's `parent` symlink points into the main repository,
    /// which callers allow this way). Missing files and escapes are both `.notFound`, so a probe
    /// learns nothing about what exists outside.
    public static func resolve(root: String, segments: [String], alsoAllowed: [String] = []) throws(FileServingError)
        -> String
    {
        let joined = ([root] + segments).joined(separator: "/")
        guard let real = POSIXFiles.realPath(joined) else { throw .notFound }
        let roots = ([root] + alsoAllowed).compactMap(POSIXFiles.realPath)
        guard roots.contains(where: { isInside(real, root: $0) }) else { throw .notFound }
        return real
    }

    private static func isInside(_ path: String, root: String) -> Bool {
        if path == root { return true }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        // Byte comparison: String.hasPrefix compares canonically equivalent Unicode, not file names.
        return path.utf8.starts(with: prefix.utf8)
    }
}
