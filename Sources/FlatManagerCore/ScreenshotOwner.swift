/// The app a build's `screenshots/<arch>` ref belongs to, as 0.5.3 decides it (server.md "Screenshot refs on
/// upload must be attributable to an app"). Screenshots all land in the repository's shared `media/`, so a token
/// may only add them for an app it covers.
public enum ScreenshotOwner: Sendable, Equatable {
    /// The build's app id, or the one app id among the build's `app/<id>/<arch>/…` refs.
    case app(String)
    /// A build without app id and without an `app/` ref of that arch: only a token with global prefix access.
    case unattributed
    /// Several app ids of that arch (sorted): nobody may add screenshots, since nobody can say whose they are.
    case ambiguous([String])

    /// Decides the owner of `screenshots/<arch>` from the build's app id and the names of its refs.
    public init(arch: String, buildAppID: String?, refNames: [String]) {
        if let buildAppID {
            self = .app(buildAppID)
            return
        }
        var ids: Set<String> = []
        for name in refNames {
            if case .app(let id, let refArch, _) = RefName(name), refArch == arch { ids.insert(id) }
        }
        let sorted = ids.sorted()
        switch (sorted.first, sorted.count) {
        case (nil, _): self = .unattributed
        case (let only?, 1): self = .app(only)
        default: self = .ambiguous(sorted)
        }
    }
}

extension Claims {
    /// Global prefix access: no `prefixes` restriction at all, or an empty-string prefix (upstream's wording).
    public var hasGlobalPrefixAccess: Bool { prefixes.isEmpty || prefixes.contains("") }

    /// The token may add screenshots owned by `owner`.
    public func require(screenshotsOwner owner: ScreenshotOwner) throws(PermissionError) {
        switch owner {
        case .app(let id):
            try require(prefixFor: id)
        case .unattributed:
            guard hasGlobalPrefixAccess else {
                throw PermissionError("Screenshots of a build without app id or app ref need global prefix access")
            }
        case .ambiguous(let ids):
            throw PermissionError("Screenshots ref is ambiguous between apps \(ids.joined(separator: ", "))")
        }
    }
}
