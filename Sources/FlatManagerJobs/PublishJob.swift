import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree

/// Imports a ready build into its main repository and queues the repository update (server.md §4.5).
struct PublishJob: JobHandler {
    static let kind = JobKind.publish
    let buildID: Int32

    func run(in context: JobContext) async throws(JobError) -> String {
        let store = context.store
        let buildID = buildID
        guard let build = try await context.db({ try await store.build(id: buildID) }) else {
            throw JobError("Can't load build \(buildID)")
        }
        let refs = try await context.db { try await store.buildRefs(buildID: buildID) }
        let result: String
        do throws(JobError) {
            let repo = try context.environment.repoConfig(build.repo)
            guard !refs.isEmpty else { throw JobError("No refs in build") }
            result = try await publish(build: build, refs: refs, repo: repo, in: context)
        } catch {
            _ = try await context.db { try await store.finishPublish(buildID: buildID, failure: error.description) }
            throw error
        }
        guard try await context.db({ try await store.finishPublish(buildID: buildID, failure: nil) }) else {
            throw JobError("Expected build to be in Publishing state at the end of the publish job")
        }
        return result
    }

    func publish(build: Build, refs: [BuildRef], repo: RepoConfig, in context: JobContext) async throws(JobError)
        -> String
    {
        let env = context.environment
        let buildDir = env.buildDirectory(buildID)
        if !repo.hooks.publish.isEmpty {
            // Before the import: a failing hook leaves the main repository untouched.
            await context.log("Running publish hook")
            try await Hook.runRequired(
                "Publish hook", argv: repo.hooks.publish, workingDirectory: buildDir,
                variables: ["FLAT_MANAGER_IS_REPUBLISH": "false", "FLAT_MANAGER_BUILD_ID": "\(buildID)"], in: context)
        }
        await context.log("Importing build to repo \(repo.name)")
        let extraIDs = repo.collectionID.map { cid in build.extraIDs.map { "\(cid).\($0)" } } ?? []
        try await context.run(
            .flatpakPublish(build: buildDir, repo: repo.path, gpg: env.signing(for: repo), extraCollectionIDs: extraIDs)
        )
        try FileManager.default.makeDirectory(repo.path + "/appstream")
        try FileManager.default.makeDirectory(repo.path + "/media")
        var published: [(String, String)] = []
        for ref in refs {
            guard let name = RefName(ref.refName) else { continue }
            switch name {
            case .app(let id, _, let branch):
                published.append((ref.refName, try readRef(repo: repo.path, ref: ref.refName)))
                await context.log("generating \(id).flatpakref")
                try writeFlatpakRef(id: id, branch: branch, repo: repo, env: env)
            case .runtime:
                published.append((ref.refName, try readRef(repo: repo.path, ref: ref.refName)))
            case .screenshots:
                await context.log("extracting \(ref.refName)")
                try await context.run(
                    .ostreeCheckoutScreenshots(repo: buildDir, ref: ref.refName, destination: repo.path + "/media"))
            }
        }
        let delay = env.config.delayUpdateSecs
        let jobID = context.job.id
        let (isNew, update) = try await context.db {
            try await context.store.queueUpdateRepo(repo: repo.name, startingJob: jobID, delaySeconds: delay)
        }
        await context.log(updateQueuedLine(isNew: isNew, jobID: update.id, delay: delay))
        return "{\"refs\":\(refsJSON(published)),\"update-repo-job\":\(update.id)}"
    }

    /// Writes `appstream/<id>.flatpakref` only when its content changes.
    func writeFlatpakRef(id: String, branch: String, repo: RepoConfig, env: JobEnvironment) throws(JobError) {
        let text = FlatpakRef.mainRepo(
            id: id, branch: branch, isRuntime: false, repo: repo, serverBaseURL: env.config.baseURL,
            gpgKey: env.exportedKeys.repoKeys[repo.name])
        let path = "\(repo.path)/appstream/\(id).flatpakref"
        if let existing = FileManager.default.contents(atPath: path), existing == Data(text.utf8) { return }
        try FileManager.default.writeText(text, to: path)
    }
}
