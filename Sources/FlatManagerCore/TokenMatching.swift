/// Why a valid token is not good enough (403). `reason` follows `Not enough permissions: ` in upstream's message.
public struct PermissionError: Error, Sendable, Equatable {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var message: String { "Not enough permissions: " + reason }

    public static let noToken = PermissionError("No token specified")
}

/// The matching rules of api.md §9.4.
public enum TokenMatching {
    /// The token's `sub` equals `required` or is a path-prefix of it ending right before a `/`.
    public static func subjectMatches(tokenSub: String, required: String) -> Bool {
        tokenSub == required || (!tokenSub.isEmpty && required.hasPrefix(tokenSub + "/"))
    }

    /// An app id passes when `prefixes` is empty, or a prefix is empty, equal to the id or a dotted parent of it,
    /// or when `apps` lists the id exactly (consulted only when `prefixes` is non-empty).
    public static func idMatches(_ id: String, prefixes: [String], apps: [String]) -> Bool {
        if prefixes.isEmpty { return true }
        for prefix in prefixes where prefix.isEmpty || prefix == id || id.hasPrefix(prefix + ".") {
            return true
        }
        return apps.contains(id)
    }

    /// A repo passes when `repos` has an empty entry or the name; an empty list denies everything.
    public static func repoMatches(_ repo: String, repos: [String]) -> Bool {
        repos.contains("") || repos.contains(repo)
    }
}

extension Claims {
    /// claims(sub, scope) of api.md §4.
    public func require(sub required: String, scope: Scope) throws(PermissionError) {
        guard TokenMatching.subjectMatches(tokenSub: sub, required: required) else {
            throw PermissionError("Not matching sub '\(required)' in token")
        }
        guard has(scope) else { throw PermissionError("Not matching scope '\(scope.rawValue)' in token") }
    }

    /// repo(r) of api.md §4.
    public func require(repo: String) throws(PermissionError) {
        guard TokenMatching.repoMatches(repo, repos: repos) else { throw PermissionError("Not matching repo in token") }
    }

    /// prefix(id) of api.md §4.
    public func require(prefixFor id: String) throws(PermissionError) {
        guard TokenMatching.idMatches(id, prefixes: prefixes, apps: apps) else {
            throw PermissionError("Id \(id) not matching prefix in token")
        }
    }

    /// build-access(build): the build's repo, and its app id (reported without naming it).
    public func requireAccess(to build: Build) throws(PermissionError) {
        try require(repo: build.repo)
        if let appID = build.appID, !TokenMatching.idMatches(appID, prefixes: prefixes, apps: apps) {
            throw PermissionError("Build's app ID not matching prefix in token")
        }
    }
}
