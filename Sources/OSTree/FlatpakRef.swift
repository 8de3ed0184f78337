import FlatManagerCore

/// The `.flatpakref` files the server writes (server.md §4.9). Every line ends with `\n`.
public enum FlatpakRef {
    /// The build-repo variant, written to `BUILD/<id>.flatpakref` by the commit job.
    /// `gpgKey` is the exported build key (base64); `nil` leaves the line out, an empty string writes it empty.
    public static func build(
        id: String, branch: String, isRuntime: Bool, buildID: Int32, baseURL: String, gpgKey: String?,
        runtimeRepoURL: String?
    ) -> String {
        var lines = header(id: id, branch: branch, title: "\(id) build nr \(buildID)", isRuntime: isRuntime)
        lines.append("Url=\(baseURL)/build-repo/\(buildID)")
        return render(lines + trailer(gpgKey: gpgKey, runtimeRepoURL: runtimeRepoURL))
    }

    /// The main-repo variant, written to `REPO/appstream/<id>.flatpakref` by the publish job.
    /// `gpgKey` is the repo's exported key (we export the repo's own key, fixing upstream's bug of §1.6).
    public static func mainRepo(
        id: String, branch: String, isRuntime: Bool, repo: RepoConfig, serverBaseURL: String, gpgKey: String?
    ) -> String {
        let title = "\(id) from \(repo.suggestedRepoName ?? repo.name)"
        var lines = header(id: id, branch: branch, title: title, isRuntime: isRuntime)
        lines.append("Url=\(repo.publicURL(serverBaseURL: serverBaseURL))")
        if let collectionID = repo.collectionID, repo.deployCollectionID {
            lines.append("DeployCollectionID=\(collectionID)")
        }
        if let name = repo.suggestedRepoName { lines.append("SuggestRemoteName=\(name)") }
        return render(lines + trailer(gpgKey: gpgKey, runtimeRepoURL: repo.runtimeRepoURL))
    }

    /// The `.flatpakrepo` file of a main repository (ours: upstream writes none), so users can add the remote
    /// with its signing key in one step: `flatpak remote-add NAME URL/NAME.flatpakrepo`.
    public static func repoFile(repo: RepoConfig, serverBaseURL: String, gpgKey: String?) -> String {
        var lines = [
            "[Flatpak Repo]", "Title=\(repo.suggestedRepoName ?? repo.name)",
            "Url=\(repo.publicURL(serverBaseURL: serverBaseURL))/",
        ]
        if let collectionID = repo.collectionID, repo.deployCollectionID {
            lines.append("DeployCollectionID=\(collectionID)")
        }
        if let gpgKey { lines.append("GPGKey=\(gpgKey)") }
        return render(lines)
    }

    private static func header(id: String, branch: String, title: String, isRuntime: Bool) -> [String] {
        ["[Flatpak Ref]", "Name=\(id)", "Branch=\(branch)", "Title=\(title)", "IsRuntime=\(isRuntime)"]
    }

    /// `GPGKey=` and `RuntimeRepo=` (upstream follows the latter with one empty line).
    private static func trailer(gpgKey: String?, runtimeRepoURL: String?) -> [String] {
        var lines: [String] = []
        if let gpgKey { lines.append("GPGKey=\(gpgKey)") }
        if let runtimeRepoURL { lines += ["RuntimeRepo=\(runtimeRepoURL)", ""] }
        return lines
    }

    private static func render(_ lines: [String]) -> String {
        lines.map { $0 + "\n" }.joined()
    }
}
