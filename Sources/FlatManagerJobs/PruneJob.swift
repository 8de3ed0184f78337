import FlatManagerCore
import FlatManagerStore
import OSTree

/// Removes objects no longer reachable within a depth of 3 commits per ref (0.5, server.md §8), whenever asked, or
/// within the repo's `retention.keep-commits` (ours, issue #15: then queued on a schedule too, see
/// `RetentionScheduler`, and the dry run's report goes into the result and `/metrics`).
///
/// Builds in flight never lose an object to it: `missing_objects` records every object it answers present from
/// the main repository in the build (`BorrowedObjects`), and before removing anything the prune takes the
/// repository's `AdoptionLock` exclusively and hard-links every recorded object into its build, so a build holds
/// its own link to everything it did not upload and the prune only removes the main repository's name for it. The
/// lock is held until the prune is done: meanwhile `missing_objects` links what it finds at once. (Upstream prunes
/// regardless and may break such builds; our first version skipped the prune while any build was in flight, so a
/// busy repository was never pruned.) The main repository's writers (publish, update-repo, rollback) are kept out
/// by the repo queue and `RepoLock`.
struct PruneJob: JobHandler {
    static let kind = JobKind.prune

    func run(in context: JobContext) async throws(JobError) -> PruneResult {
        guard let repoName = context.job.repo else { throw .invalidJob("Prune job requires a repo") }
        let repo = try context.environment.repoConfig(repoName)
        let depth = repo.retention?.pruneDepth ?? 3
        if let retention = repo.retention {
            await context.log("Retention: keeping \(retention.keepCommits) commits of every ref (depth \(depth))")
        }
        await context.log("Running prune dry-run")
        let dryRun = try await runLogged(
            .flatpakPrune(repo: repo.path, dryRun: true, depth: depth), label: "Dry-run", context)
        let report = PruneReport(flatpakOutput: dryRun.stdout + "\n" + dryRun.stderr)
        if repo.retention != nil, let report {
            await context.log(
                "Dry-run report: \(report.objects) of \(report.totalObjects) objects would go, about \(report.bytes) bytes"
            )
        }
        let lock: AdoptionLock
        do {
            lock = try await AdoptionLock.exclusive(repository: repo.path)
        } catch {
            throw .io("Cannot lock \(repo.path) against missing_objects", reason: "\(error)")
        }
        defer { lock.release() }
        try await BorrowedObjectsAdoption.adoptAll(repo: repo, in: context)
        await context.log("Running actual prune")
        _ = try await runLogged(.flatpakPrune(repo: repo.path, dryRun: false, depth: depth), label: "Prune", context)
        guard repo.retention != nil else { return PruneResult() }
        return PruneResult(depth: depth, dryRun: report)
    }

    func runLogged(_ command: Command, label: String, _ context: JobContext) async throws(JobError) -> CommandOutput {
        let output = try await context.run(command)
        await context.log("\(label) stdout:\n\(output.stdout)")
        await context.log("\(label) stderr:\n\(output.stderr)")
        return output
    }
}
