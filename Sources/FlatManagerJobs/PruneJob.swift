import FlatManagerCore
import FlatManagerStore
import OSTree

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
