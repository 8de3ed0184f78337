import FlatManagerCore
import FlatManagerStore
import OSTree

/// Removes objects no longer reachable within a depth of 3 commits per ref (0.5, server.md §8), whenever asked.
///
/// Builds in flight never lose an object to it: `missing_objects` hard-links every object it finds in the main
/// repository into the build repository (`BuildStorage.adoptObject`), so a build holds its own link to everything
/// it did not upload, and the prune only removes the main repository's name for an object. (Upstream prunes
/// regardless and may break such builds; our earlier version skipped the prune while any build was in flight, so a
/// busy repository was never pruned.)
struct PruneJob: JobHandler {
    static let kind = JobKind.prune

    func run(in context: JobContext) async throws(JobError) -> PruneResult {
        guard let repoName = context.job.repo else { throw .invalidJob("Prune job requires a repo") }
        let repo = try context.environment.repoConfig(repoName)
        await context.log("Running prune dry-run")
        _ = try await runLogged(.flatpakPrune(repo: repo.path, dryRun: true), label: "Dry-run", context)
        await context.log("Running actual prune")
        _ = try await runLogged(.flatpakPrune(repo: repo.path, dryRun: false), label: "Prune", context)
        return PruneResult()
    }

    func runLogged(_ command: Command, label: String, _ context: JobContext) async throws(JobError) -> CommandOutput {
        let output = try await context.run(command)
        await context.log("\(label) stdout:\n\(output.stdout)")
        await context.log("\(label) stderr:\n\(output.stderr)")
        return output
    }
}
