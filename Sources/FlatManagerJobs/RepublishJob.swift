import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// Re-commits the refs of one app in a main repository through the publish hook, optionally marking them
/// end-of-life, then queues a repository update (server.md §4.7).
struct RepublishJob: JobHandler {
    static let kind = JobKind.republish
    let app: String
    let endOfLife: String?
    let endOfLifeRebase: String?

    func run(in context: JobContext) async throws(JobError) -> RepublishResult {
        guard let repoName = context.job.repo else { throw .invalidJob("Republish job requires a repo") }
        // Defence in depth: the API validates app ids too, but a job row is only as good as what wrote it, and the
        // id becomes a path below refs/heads here.
        guard Self.isPlausibleAppID(app) else { throw .invalidJob("Invalid app id \(app)") }
        let env = context.environment
        let repo = try env.repoConfig(repoName)
        let tmp = try makeTemporaryRepo(in: repo)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let refs: [String]
        do {
            refs = try Refs.list(repo: repo.path, prefix: "app/\(app)")
        } catch {
            // The repo by name: job logs can be public, server paths stay out of them.
            throw .io("Failed to list refs of \(app) in repo \(repo.name)", reason: "\(error)")
        }
        let pending = try await unexported(refs, repo: repo, in: context)
        for ref in refs where !pending.contains(ref) {
            await context.log("\(ref) was republished before the interruption")
        }
        for ref in pending {
            await context.log("Re-publishing \(ref)")
            try await context.run(.flatpakRepublishImport(src: repo.path, tmp: FilePath(tmp), ref: ref))
        }
        if !repo.hooks.publish.isEmpty {
            await context.log("Running publish hook")
            try await Hook.runRequired(
                "Publish hook", argv: repo.hooks.publish, workingDirectory: FilePath(tmp),
                variables: ["FLAT_MANAGER_IS_REPUBLISH": "true"], in: context)
        }
        await context.log("Republishing refs to repo \(repo.name)")
        if !pending.isEmpty || refs.isEmpty {
            // A resumed run names the refs left: with end-of-life options every export makes a new commit.
            try await context.run(
                .flatpakRepublishExport(
                    tmp: FilePath(tmp), repo: repo.path, gpg: env.signing(for: repo), endOfLife: endOfLife,
                    endOfLifeRebase: endOfLifeRebase.map { "\(app)=\($0)" }, refs: pending == refs ? [] : pending))
        }
        let delay = env.config.delayUpdateSecs
        let jobID = context.job.id
        let (isNew, update) = try await context.db {
            try await context.store.queueUpdateRepo(repo: repo.name, startingJob: jobID, delaySeconds: delay)
        }
        await context.log(updateQueuedLine(isNew: isNew, jobID: update.id, delay: delay))
        return RepublishResult(updateRepoJob: update.id)
    }

    /// The refs this job has not exported yet, recording the main repository's head of each before its export:
    /// a ref whose head moved away from the one recorded was exported by an interrupted run of this job (the
    /// repo's jobs run one at a time, so nothing else moved it).
    func unexported(_ refs: [String], repo: RepoConfig, in context: JobContext) async throws(JobError) -> [String] {
        let store = context.store
        let jobID = context.job.id
        let recorded = try await context.db { try await store.checkpoints(jobID: jobID) }
        var pending: [String] = []
        for ref in refs {
            let head = try readRef(repo: repo.path, ref: ref)
            let step = "export-base:\(ref)"
            if let base = recorded[step] {
                if base == head { pending.append(ref) }
                continue
            }
            try await context.db { try await store.setCheckpoint(jobID: jobID, step: step, value: head) }
            pending.append(ref)
        }
        return pending
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
        let base = repo.path.string + "/tmp/republish-repos"
        try FileManager.default.makeDirectory(base)
        let path = "\(base)/.tmp\(UUID().uuidString.prefix(8))"
        do {
            try RepoLayout.createBuildRepository(at: FilePath(path), parent: repo.path, collectionID: nil)
        } catch {
            throw .io("Failed to create temporary repo \(path)", reason: "\(error)")
        }
        return path
    }
}
