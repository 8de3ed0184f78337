import SystemPackage

/// The appstream branches of a repository (`appstream/<arch>`, `appstream2/<arch>`), which the commit and
/// update-repo jobs check out for clients that read appstream data over plain HTTP.
public enum Appstream {
    /// The appstream refs of `repo` (`appstream/<arch>`, not `appstream2/…`) with where each is checked out:
    /// `<repo>/appstream/<arch>` (server.md §4.3 step 6, §4.6 step 5).
    public static func checkouts(repo: FilePath) throws -> [(ref: String, destination: FilePath)] {
        try Refs.list(repo: repo, prefix: "appstream").map { ref in
            let arch = ref.split(separator: "/").last.map(String.init) ?? ref
            return (ref, repo.appending("appstream").appending(arch))
        }
    }
}
