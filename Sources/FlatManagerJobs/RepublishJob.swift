import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree

/// Re-commits the refs of one app in a main repository through the publish hook, optionally marking them
/// end-of-life, then queues a repository update (server.md §4.7).
struct RepublishJob: JobHandler {
    static let kind = JobKind.republish
    let app: String
    let endOfLife: String?
    let endOfLifeRebase: String?

    func run(in context: JobContext) async throws(JobError) -> String {
        guard let repoName = context.job.repo else { throw JobError("Republish job requires a repo") }
        // Defence in depth: the API validates app ids too, but a job row is only as good as what wrote it, and the
        // id becomes a path below refs/heads here.
        guard Self.isPlausibleAppID(app) else { throw JobError("Invalid app id \(app)") }
        let env = context.environment
        let repo = try env.repoConfig(repoName)
        let tmp = try makeTemporaryRepo(in: repo)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let refs: [String]
        do {
            refs = try Refs.list(repo: repo.path, prefix: "app/\(app)")
        } catch {
            // The repo by name: job logs can be public, server paths stay out of them.
            throw JobError("Failed to list refs of \(app) in repo \(repo.name): \(error)")
        }
        for ref in refs {
            await context.log("Re-publishing \(ref)")
            try await context.run(.flatpakRepublishImport(src: repo.path, tmp: tmp, ref: ref))
        }
        if !repo.hooks.publish.isEmpty {
            await context.log("Running publish hook")
            try await Hook.runRequired(
                "Publish hook", argv: repo.hooks.publish, workingDirectory: tmp,
                variables: ["FLAT_MANAGER_IS_REPUBLISH": "true"], in: context)
        }
        await context.log("Republishing refs to repo \(repo.name)")
        try await context.run(
            .flatpakRepublishExport(
                tmp: tmp, repo: repo.path, gpg: env.signing(for: repo), endOfLife: endOfLife,
                endOfLifeRebase: endOfLifeRebase.map { "\(app)=\($0)" }))
        let delay = env.config.delayUpdateSecs
        let jobID = context.job.id
        let (isNew, update) = try await context.db {
            try await context.store.queueUpdateRepo(repo: repo.name, startingJob: jobID, delaySeconds: delay)
        }
        await context.log(updateQueuedLine(isNew: isNew, jobID: update.id, delay: delay))
        return "{\"update-repo-job\":\(update.id)}"
    }

    /// Dot-separated non-empty elements of ASCII letters, digits, `_` and `-` (the flatpak id alphabet): no `/`,
    /// no `..`, nothing a path join could take for a directory step.
    static func isPlausibleAppID(_ id: String) -> Bool {
        let elements = id.split(separator: ".", omittingEmptySubsequences: false)
        guard id.utf8.count <= 255, elements.count >= 2 else { return false }
        return elements.allSatisfy { element in
            !element.isEmpty
                && element.unicodeScalars.allSatisfy { scalar in
                    scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == "-")
                }
        }
    }

    /// A fresh archive repository under `<repo>/tmp/republish-repos/` whose parent is the main repo.
    func makeTemporaryRepo(in repo: RepoConfig) throws(JobError) -> String {
        let base = repo.path + "/tmp/republish-repos"
        try FileManager.default.makeDirectory(base)
        let path = "\(base)/.tmp\(UUID().uuidString.prefix(8))"
        do {
            try RepoLayout.createBuildRepository(at: path, parent: repo.path, collectionID: nil)
        } catch {
            throw JobError("Failed to create temporary repo \(path): \(error)")
        }
        return path
    }
}

/// Removes objects no longer reachable within a depth of 3 commits per ref (0.5, server.md §8), made safe.
///
/// The dry run always runs and its report goes to the job log. The real prune only runs when no build of the repo
/// may still read objects from it: a build repository has the main repository as its ostree `parent`, so objects
/// the client did not upload are read from the main repository at commit and at publish. While such builds exist
/// (uploading, committing, validating or ready and not yet published) the prune is skipped, and the job says which
/// builds hold it back; purging abandoned builds lets the next prune run. The check runs again after the prune
/// and the job reports builds that started meanwhile, the one window this check cannot close.
struct PruneJob: JobHandler {
    static let kind = JobKind.prune

    func run(in context: JobContext) async throws(JobError) -> String {
        guard let repoName = context.job.repo else { throw JobError("Prune job requires a repo") }
        let repo = try context.environment.repoConfig(repoName)
        await context.log("Running prune dry-run")
        _ = try await runLogged(.flatpakPrune(repo: repo.path, dryRun: true), label: "Dry-run", context)
        let store = context.store
        let before = try await context.db { try await store.buildsRelyingOnRepo(repoName) }
        if !before.isEmpty {
            let ids = before.map(String.init).joined(separator: ", ")
            await context.log(
                "Skipping prune: builds \(ids) of repo \(repoName) are not published yet and may use objects of the "
                    + "repo; publish or purge them, then prune again")
            return "{\"pruned\":false,\"builds-in-progress\":[\(ids)]}"
        }
        await context.log("Running actual prune")
        _ = try await runLogged(.flatpakPrune(repo: repo.path, dryRun: false), label: "Prune", context)
        let after = try await context.db { try await store.buildsRelyingOnRepo(repoName) }
        if !after.isEmpty {
            let ids = after.map(String.init).joined(separator: ", ")
            await context.log("Warning: builds \(ids) were created while the prune ran")
        }
        return "{\"pruned\":true}"
    }

    func runLogged(_ command: Command, label: String, _ context: JobContext) async throws(JobError) -> CommandOutput {
        let output = try await context.run(command)
        await context.log("\(label) stdout:\n\(output.stdout)")
        await context.log("\(label) stderr:\n\(output.stderr)")
        return output
    }
}
