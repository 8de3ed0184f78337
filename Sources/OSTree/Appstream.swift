import SystemPackage

/// The appstream branches of a repository (`appstream/<arch>`, `appstream2/<arch>`), which the commit and
/// update-repo jobs check out for clients that read appstream data over plain HTTP.
public enum Appstream {
    /// One checkout per appstream ref of `repo`, into `<repo>/appstream/<arch>` (server.md §4.3 step 6, §4.6 step 5).
    public static func checkouts(repo: FilePath) throws -> [Command] {
        try Refs.list(repo: repo, prefix: "appstream").map { ref in
            let arch = ref.split(separator: "/").last.map(String.init) ?? ref
            return .ostreeCheckoutAppstream(
                repo: repo, ref: ref, destination: repo.appending("appstream").appending(arch))
        }
    }
}
