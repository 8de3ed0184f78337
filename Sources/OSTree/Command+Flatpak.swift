import SystemPackage

/// The flatpak, ostree and gpg command lines of server.md §4–§5 and §8, argument for argument.
extension Command {
    /// Commit job, one uploaded ref into the build repo (server.md §4.3 step 2.2).
    /// `endOfLifeRebase` is the whole value `OLD=NEW`.
    public static func flatpakCommitToBuild(
        upload: FilePath, build: FilePath, ref: String, commit: String, gpg: GPGSigning,
        endOfLife: String? = nil, endOfLifeRebase: String? = nil, tokenType: Int32? = nil
    ) -> Command {
        var arguments = commitToBuildOptions(
            gpg: gpg, endOfLife: endOfLife, endOfLifeRebase: endOfLifeRebase, tokenType: tokenType)
        arguments += ["--src-repo=\(upload)", "--src-ref=\(commit)", build.string, ref]
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// The options both forms of the commit job's `build-commit-from` into the build repo share.
    private static func commitToBuildOptions(
        gpg: GPGSigning, endOfLife: String?, endOfLifeRebase: String?, tokenType: Int32?
    ) -> [String] {
        var arguments = [
            "build-commit-from", "--timestamp=NOW", "--no-update-summary", "--untrusted", "--force",
            "--disable-fsync",
        ]
        arguments += gpg.arguments
        arguments += endOfLifeArguments(endOfLife: endOfLife, endOfLifeRebase: endOfLifeRebase)
        if let tokenType { arguments.append("--token-type=\(tokenType)") }
        return arguments
    }

    /// Commit job, several uploaded refs into the build repo in one run (ours, issue #13: one process instead of one
    /// per ref). The same options as `flatpakCommitToBuild`, without `--src-ref`: each ref is read from the upload
    /// repository's `refs/heads`, which the job writes first. flatpak imports the refs in one transaction, so after an
    /// interruption either all of them or none point at new commits.
    public static func flatpakCommitRefsToBuild(
        upload: FilePath, build: FilePath, refs: [String], gpg: GPGSigning, endOfLife: String? = nil,
        endOfLifeRebase: String? = nil, tokenType: Int32? = nil
    ) -> Command {
        var arguments = commitToBuildOptions(
            gpg: gpg, endOfLife: endOfLife, endOfLifeRebase: endOfLifeRebase, tokenType: tokenType)
        arguments += ["--src-repo=\(upload)", build.string] + refs
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// Commit job with `metadata-lint` (ours): the bytes of one file of an uploaded commit's tree, e.g. `/metadata`.
    /// `commit` is a checksum the API validated; objects the upload lacks are read from its parent repositories.
    public static func ostreeCat(repo: FilePath, commit: String, path: String) -> Command {
        Command(executable: "ostree", arguments: ["--repo=\(repo)", "cat", commit, path])
    }

    /// Commit job, after all refs: appstream branches and signed summary of the build repo (§4.3 step 5).
    public static func flatpakUpdateBuildRepo(build: FilePath, gpg: GPGSigning) -> Command {
        Command(executable: "flatpak", arguments: ["build-update-repo", build.string] + gpg.arguments)
    }

    /// Appstream extraction (§4.3 step 6, §4.6 step 5). The destination's parent must exist.
    public static func ostreeCheckoutAppstream(repo: FilePath, ref: String, destination: FilePath) -> Command {
        Command(
            executable: "ostree",
            arguments: [
                "--repo=\(repo)", "checkout", "--user-mode", "--union", "--bareuseronly-dirs", ref, destination.string,
            ])
    }

    /// Screenshot extraction, first step (§4.5 step 5, hardened as in 0.5.3): a fresh checkout into a private
    /// staging directory that must not exist yet. No `--union`: the shared `REPO/media` is only ever written by
    /// `NoFollowTree.copy` after the staged tree passed `NoFollowTree.inspect` (issue #10, hole 1).
    public static func ostreeCheckoutScreenshotsToStaging(repo: FilePath, ref: String, staging: FilePath) -> Command {
        Command(
            executable: "ostree",
            arguments: ["--repo=\(repo)", "checkout", "--user-mode", "--bareuseronly-dirs", ref, staging.string])
    }

    /// Publish job: import the build's app and runtime refs into the main repo (§4.5 step 2).
    /// `extraCollectionIDs` are already prefixed (`<collection-id>.<extra id>`).
    /// `refs` empty imports every app and runtime ref of the build; otherwise only these (a resumed publish).
    public static func flatpakPublish(
        build: FilePath, repo: FilePath, gpg: GPGSigning, extraCollectionIDs: [String] = [], refs: [String] = []
    ) -> Command {
        var arguments = ["build-commit-from", "--force", "--no-update-summary"] + gpg.arguments
        arguments += extraCollectionIDs.map { "--extra-collection-id=\($0)" }
        arguments += ["--src-repo=\(build)", repo.string] + refs
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// Update-repo job: step 1 (`noUpdateSummary`) regenerates appstream, step 6 (`noUpdateAppstream`) the summary.
    public static func flatpakUpdateRepo(
        repo: FilePath, gpg: GPGSigning, noUpdateSummary: Bool = false, noUpdateAppstream: Bool = false
    ) -> Command {
        var arguments = ["build-update-repo"]
        if noUpdateSummary { arguments.append("--no-update-summary") }
        if noUpdateAppstream { arguments.append("--no-update-appstream") }
        arguments += gpg.arguments
        arguments.append(repo.string)
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// Local static delta generation (§5.5): option and value as separate argv elements, no signing.
    public static func flatpakGenerateDelta(repo: FilePath, from: String?, to: String) -> Command {
        var arguments = ["build-update-repo", "--generate-static-delta-to", to]
        if let from { arguments += ["--generate-static-delta-from", from] }
        arguments.append(repo.string)
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// Republish step 4: copy one ref of the main repo into the temporary repo, unsigned (§4.7).
    public static func flatpakRepublishImport(src: FilePath, tmp: FilePath, ref: String) -> Command {
        Command(
            executable: "flatpak",
            arguments: [
                "build-commit-from", "--force", "--no-update-summary", "--disable-fsync", "--src-repo=\(src)",
                "--src-ref=\(ref)", tmp.string, ref,
            ])
    }

    /// Republish step 6: import the temporary repo back, without `--force` (§4.7).
    /// `endOfLifeRebase` is the whole value `<app id>=<target>`.
    /// `refs` empty exports every ref of the temporary repo; otherwise only these (a resumed republish).
    public static func flatpakRepublishExport(
        tmp: FilePath, repo: FilePath, gpg: GPGSigning, endOfLife: String? = nil, endOfLifeRebase: String? = nil,
        refs: [String] = []
    ) -> Command {
        var arguments = ["build-commit-from", "--no-update-summary"] + gpg.arguments
        arguments += ["--src-repo=\(tmp)", repo.string] + refs
        arguments += endOfLifeArguments(endOfLife: endOfLife, endOfLifeRebase: endOfLifeRebase)
        return Command(executable: "flatpak", arguments: arguments)
    }

    /// The 0.5 prune job (server.md §8): a dry run first, then the real prune, depth 3 hard-coded (ours: a repo's
    /// `retention` sets the depth).
    public static func flatpakPrune(repo: FilePath, dryRun: Bool, depth: Int = 3) -> Command {
        Command(
            executable: "flatpak",
            arguments: [
                "build-update-repo", "-v", "--no-update-summary", "--no-update-appstream",
                dryRun ? "--prune-dry-run" : "--prune", "--prune-depth=\(depth)", repo.string,
            ])
    }

    /// Export public keys (§1.6); the key is `CommandOutput.stdoutBytes` (binary: base64 it).
    /// gpg exits 0 with empty output for unknown ids: callers check for that.
    public static func gpgExport(binary: String = "gpg", homedir: FilePath?, keys: [String]) -> Command {
        Command(executable: binary, arguments: (homedir.map { ["--homedir=\($0)"] } ?? []) + ["--export"] + keys)
    }

    /// A configured hook (`[program, args...]`, §1.5). An empty `argv` gives a command that fails to launch,
    /// so callers should treat "no hook" before getting here.
    public static func hook(argv: [String], workingDirectory: FilePath?, environment: [String: String]) -> Command {
        Command(
            executable: argv.first ?? "", arguments: Array(argv.dropFirst()), workingDirectory: workingDirectory,
            environment: environment)
    }

    private static func endOfLifeArguments(endOfLife: String?, endOfLifeRebase: String?) -> [String] {
        (endOfLife.map { ["--end-of-life=\($0)"] } ?? [])
            + (endOfLifeRebase.map { ["--end-of-life-rebase=\($0)"] } ?? [])
    }
}
