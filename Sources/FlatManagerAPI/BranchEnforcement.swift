import FlatManagerCore

/// The opt-in `enforce-branches` hardening: with it, a build ref's branch must be listed in the `branches` claim of
/// the token that adds the ref (upstream records the claim but never checks it, api.md §9.2).
enum BranchEnforcement {
    /// Whether `branches` allows `branch`: an empty-string entry allows every branch (like an empty prefix or
    /// repo); an empty list allows none, since the claim is meant to narrow the token.
    static func allows(_ branch: String, branches: [String]) -> Bool {
        branches.contains("") || branches.contains(branch)
    }

    /// Throws 403 when enforcement is on and the ref has a branch the claims do not allow. Screenshots refs have no
    /// branch and pass.
    static func check(_ ref: RefName, claims: Claims, enabled: Bool) throws(PermissionError) {
        guard enabled else { return }
        let branch: String
        switch ref {
        case .app(_, _, let b), .runtime(_, _, let b): branch = b
        case .screenshots: return
        }
        guard allows(branch, branches: claims.branches) else {
            throw PermissionError("Branch \(branch) not matching branches in token")
        }
    }
}
