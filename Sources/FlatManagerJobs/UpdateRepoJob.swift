import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// Regenerates appstream, static deltas and the signed summary of a main repository (server.md §4.6).
struct UpdateRepoJob: JobHandler {
    static let kind = JobKind.updateRepo
    let repo: String

    /// How long a retired delta stays downloadable from `deltas/.tmp` (server.md §4.6 step 4).
    static let retiredDeltaLifetime: TimeInterval = 3600

    func run(in context: JobContext) async throws(JobError) -> UpdateRepoResult {
        let env = context.environment
        let repo = try env.repoConfig(repo)
        if repo.installableFirst, try await waitedForByAPublish(in: context) {
            try await updateInstallableFirst(repo, in: context)
        } else {
            try await update(repo, in: context)
        }
        if let script = repo.postPublishScript {
            await context.log("Running post-publish script")
            try await Hook.runRequired(
                "Post-publish script", argv: [script, repo.name, repo.path.string], workingDirectory: nil,
                variables: [:],
                in: context)
        }
        return UpdateRepoResult()
    }

    /// Whether a publish, republish or rollback waits for this job, i.e. someone waits for new commits to become
    /// installable: such a job works installable-first (`RepoConfig.installableFirst`). A follow-up, a job queued at
    /// start-up or by recovery works in upstream's order.
    func waitedForByAPublish(in context: JobContext) async throws(JobError) -> Bool {
        let store = context.store
        let jobID = context.job.id
        let kinds = try await context.db { try await store.dependencyKinds(of: jobID) }
        return !kinds.isDisjoint(with: [.publish, .republish, .rollback])
    }

    /// Upstream's order (server.md §4.6): appstream branches, static deltas, old deltas retired, appstream checkout,
    /// then the summary, which lists the deltas present.
    func update(_ repo: RepoConfig, in context: JobContext) async throws(JobError) {
        let env = context.environment
        let signing = env.signing(for: repo)
        await context.log("Regenerating appstream branches")
        try await context.run(
            .flatpakUpdateRepo(repo: repo.path, gpg: signing, noUpdateSummary: true, noUpdateAppstream: false))
        let (wanted, existing, incomplete) = try planDeltas(repo: repo)
        await removeIncompleteDeltas(incomplete, repo: repo.path.string, context: context)
        await context.log("Generating deltas")
        await DeltaGeneration.generate(
            wanted.subtracting(existing).sorted { $0.name < $1.name }, repo: repo, context: context)
        await context.log("All deltas generated")
        await context.log("Cleaning out old deltas")
        try await retire(
            existing.subtracting(wanted).sorted { $0.name < $1.name }, repo: repo.path.string, context: context)
        await context.log("Extracting appstream branches")
        try await extractAppstream(repo: repo.path, in: context)
        try writeRepoFile(repo, env: env)
        await context.log("Updating summary")
        try await context.run(
            .flatpakUpdateRepo(repo: repo.path, gpg: signing, noUpdateSummary: false, noUpdateAppstream: true))
    }

    /// Installable-first (ours, issue #13): one `flatpak build-update-repo` regenerates the appstream branches and
    /// writes the signed summary, as running the tool by hand would; the new commits are installable when it ends
    /// (without their deltas: clients fetch objects instead). When deltas are missing, unwanted or incomplete, a
    /// follow-up update-repo job, chained behind this one, does upstream's whole sequence, appstream checkout
    /// included; otherwise the checkout is done here.
    func updateInstallableFirst(_ repo: RepoConfig, in context: JobContext) async throws(JobError) {
        let env = context.environment
        await context.log("Regenerating appstream branches and summary")
        try await context.run(
            .flatpakUpdateRepo(
                repo: repo.path, gpg: env.signing(for: repo), noUpdateSummary: false, noUpdateAppstream: false))
        try writeRepoFile(repo, env: env)
        let (wanted, existing, incomplete) = try planDeltas(repo: repo)
        let missing = wanted.subtracting(existing).count
        let unwanted = existing.subtracting(wanted).count
        guard missing + unwanted + incomplete.count > 0 else {
            await context.log("Extracting appstream branches")
            try await extractAppstream(repo: repo.path, in: context)
            return
        }
        let store = context.store
        let delay = env.config.delayUpdateSecs
        // Chained behind this job by the coalescing rules (this job is Started); a New one is reused.
        let (isNew, followUp) = try await context.db {
            try await store.queueUpdateRepo(repo: repo.name, startingJob: nil, delaySeconds: delay)
        }
        await context.log(
            "Static deltas (\(missing) missing, \(unwanted) unwanted) and the appstream checkout are left to "
                + (isNew ? "update job \(followUp.id)" : "the queued update job \(followUp.id)"))
        // The repo's worker claims it when this job has ended (the dispatcher kicks the queue after every job).
    }

    /// Writes `<repo>/<name>.flatpakrepo` (with the repo's public key) when its content changes.
    func writeRepoFile(_ repo: RepoConfig, env: JobEnvironment) throws(JobError) {
        let text = FlatpakRef.repoFile(
            repo: repo, serverBaseURL: env.config.baseURL, gpgKey: env.exportedKeys.repoKeys[repo.name])
        let path = "\(repo.path)/\(repo.name).flatpakrepo"
        if let existing = FileManager.default.contents(atPath: path), existing == Data(text.utf8) { return }
        try FileManager.default.writeText(text, to: path)
    }

    func planDeltas(repo: RepoConfig) throws(JobError) -> (
        wanted: Set<Delta>, existing: Set<Delta>, incomplete: Set<Delta>
    ) {
        let wanted: Set<Delta>
        do {
            wanted = try DeltaPlanning.wantedDeltas(repo: repo.path, config: repo)
        } catch {
            throw .io("Cannot compute deltas of \(repo.path)", reason: "\(error)")
        }
        let found = DeltaPlanning.scanDeltas(repo: repo.path)
        return (wanted, found.complete, found.incomplete)
    }

    /// Removes what killed generations left (see `DeltaPlanning.scanDeltas`), so that a wanted one is generated
    /// into a clean directory and an unwanted one does not stay for ever. Update-repo jobs of a repo run one at a
    /// time, so no generation of this repo is waited for now (a remote worker whose request timed out may still
    /// upload; its parts then land in a fresh directory).
    func removeIncompleteDeltas(_ deltas: Set<Delta>, repo: String, context: JobContext) async {
        for delta in deltas.sorted(by: { $0.name < $1.name }) {
            await context.log(" Removing incomplete delta \(delta.directory.string.dropFirst("deltas/".count))")
            try? FileManager.default.removeItem(atPath: "\(repo)/\(delta.directory)")
        }
    }

    /// Moves unwanted deltas to `deltas/.tmp/<xx>/<rest>` and removes the ones retired over an hour ago.
    func retire(_ deltas: [Delta], repo: String, context: JobContext) async throws(JobError) {
        let fm = FileManager.default
        let tmp = repo + "/deltas/.tmp"
        try fm.makeDirectory(tmp)
        for delta in deltas {
            let relative = String(delta.directory.string.dropFirst("deltas/".count))
            await context.log(" Queuing delta \(relative) for deletion")
            let target = "\(tmp)/\(relative)"
            do {
                try fm.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
                try fm.moveItem(atPath: "\(repo)/\(delta.directory)", toPath: target)
                try fm.setAttributes([.modificationDate: Date()], ofItemAtPath: target)
            } catch {
                // A delta that vanished meanwhile is not a reason to fail the update (0.5 behaviour).
                if !fm.fileExists(atPath: "\(repo)/\(delta.directory)") { continue }
                throw .io("Cannot retire delta \(relative)", reason: error.localizedDescription)
            }
        }
        await removeExpiredDeltas(in: tmp, context: context)
    }

    func removeExpiredDeltas(in tmp: String, context: JobContext) async {
        let fm = FileManager.default
        let cutoff = Date().addingTimeInterval(-Self.retiredDeltaLifetime)
        // Real directories only: a symlink placed here is never followed into another tree and deleted there.
        for prefix in DirectoryWalk.subdirectories(of: FilePath(tmp)) where prefix.count == 2 {
            for rest in DirectoryWalk.subdirectories(of: FilePath("\(tmp)/\(prefix)")) {
                let path = "\(tmp)/\(prefix)/\(rest)"
                guard let modified = try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date,
                    modified < cutoff
                else { continue }
                await context.log(" Deleting old delta \(prefix)/\(rest)")
                try? fm.removeItem(atPath: path)
            }
        }
    }
}

/// Hands the missing deltas of one update-repo job to the server's `DeltaGenerator` and logs each outcome;
/// failures are logged, never fail the update (server.md §4.6 step 3).
enum DeltaGeneration {
    static func generate(_ deltas: [Delta], repo: RepoConfig, context: JobContext) async {
        let env = context.environment
        let generator = env.deltaGenerator
        let url = repo.publicURL(serverBaseURL: env.config.baseURL)
        await withTaskGroup(of: (Delta, DeltaGenerator.Outcome).self) { group in
            for delta in deltas {
                group.addTask {
                    (delta, await generator.generate(repo: repo.name, path: repo.path, url: url, delta: delta))
                }
            }
            for await (delta, outcome) in group {
                if let error = outcome.error {
                    await context.log(" failed to generate \(delta.displayName): \(error)")
                } else {
                    await context.log(" \(delta.displayName)")
                }
            }
        }
    }
}
