import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Imports a ready build into its main repository and queues the repository update (server.md §4.5).
struct PublishJob: JobHandler {
    static let kind = JobKind.publish
    let buildID: Int32
    /// Ours: the publish request's `allow-downgrade` (PublishJob+Downgrade.swift), kept in the job's contents.
    var allowDowngrade = false

    func run(in context: JobContext) async throws(JobError) -> PublishResult {
        let store = context.store
        let buildID = buildID
        guard let build = try await context.db({ try await store.build(id: buildID) }) else {
            throw .missingBuild(buildID)
        }
        let refs = try await context.db { try await store.buildRefs(buildID: buildID) }
        if let earlier = try await finishedEarlier(build, refs: refs, in: context) {
            await removeBuildDirectory(in: context)
            return earlier
        }
        let result: PublishResult
        do throws(JobError) {
            let repo = try context.environment.repoConfig(build.repo)
            guard !refs.isEmpty else { throw .noRefs }
            result = try await publish(build: build, refs: refs, repo: repo, in: context)
        } catch {
            _ = try await context.db { try await store.finishPublish(buildID: buildID, failure: error.description) }
            throw error
        }
        guard try await context.db({ try await store.finishPublish(buildID: buildID, failure: nil) }) else {
            throw .unexpectedBuildState(expected: "build to be in Publishing state", job: "publish")
        }
        await removeBuildDirectory(in: context)
        return result
    }

    /// The build directory goes once the build is published (upstream since 0.4.3): everything is in the main
    /// repository now, and the build area would otherwise grow without bound. The build's record stays; a failure
    /// to remove is logged, not fatal (the publish itself succeeded). It is renamed out of the way at once and
    /// removed in the background (`Trash`), so the update-repo job waiting behind this one starts without delay.
    func removeBuildDirectory(in context: JobContext) async {
        await context.log("Removing build \(buildID)")
        let storage = context.environment.storage
        do {
            if storage.exists(buildID) {
                try Trash.discard(
                    storage.directory(buildID).string, label: "build-\(buildID)", logger: context.environment.logger)
            }
        } catch {
            await context.log("Failed to remove build directory of build \(buildID): \(error.localizedDescription)")
        }
    }

    func publish(build: Build, refs: [BuildRef], repo: RepoConfig, in context: JobContext) async throws(JobError)
        -> PublishResult
    {
        let env = context.environment
        let buildDir = env.buildDirectory(buildID)
        let imports = importState(refs: refs, buildDir: buildDir, repo: repo)
        // Resumed after the import began: the check passed before it.
        if imports.done.isEmpty { try await refuseDowngrades(refs: refs, repo: repo, in: context) }
        if !imports.done.isEmpty {
            // Resumed after the import began: the hook ran to its end before it.
            await context.log("The publish hook ran and the import began before the interruption")
        } else if !repo.hooks.publish.isEmpty {
            // Before the import: a failing hook leaves the main repository untouched.
            await context.log("Running publish hook")
            try await Hook.runRequired(
                "Publish hook", argv: repo.hooks.publish, workingDirectory: buildDir,
                variables: ["FLAT_MANAGER_IS_REPUBLISH": "false", "FLAT_MANAGER_BUILD_ID": "\(buildID)"], in: context)
        }
        // Screenshots are checked out and inspected before the import, so a hostile tree fails the publish while the
        // main repository is still untouched; the staging directory goes whatever happens (`removeItem` deletes
        // symlinks, it does not follow them).
        removeStaleStagingDirectories(buildDir: buildDir.string)
        let hasScreenshots = refs.contains { $0.refName.hasPrefix("screenshots/") }
        let staging = hasScreenshots ? try makeStagingDirectory(buildDir: buildDir.string) : nil
        defer {
            if let staging { try? FileManager.default.removeItem(atPath: staging) }
        }
        var screenshots: [StagedScreenshots] = []
        if let staging {
            screenshots = try await stageScreenshots(build: build, refs: refs, staging: staging, in: context)
        }
        let extraIDs = repo.collectionID.map { cid in build.extraIDs.map { "\(cid).\($0)" } } ?? []
        if imports.done.isEmpty {
            await context.log("Importing build to repo \(repo.name)")
            try await context.run(
                .flatpakPublish(
                    build: buildDir, repo: repo.path, gpg: env.signing(for: repo), extraCollectionIDs: extraIDs))
        } else if !imports.pending.isEmpty {
            // Only what the interrupted import did not reach: a ref imported twice would get a second commit.
            await context.log(
                "Importing the rest of the build to repo \(repo.name): \(imports.pending.joined(separator: ", "))")
            try await context.run(
                .flatpakPublish(
                    build: buildDir, repo: repo.path, gpg: env.signing(for: repo), extraCollectionIDs: extraIDs,
                    refs: imports.pending))
        } else {
            await context.log("The build was imported to repo \(repo.name) before the interruption")
        }
        try FileManager.default.makeDirectory(repo.path.string + "/appstream")
        try FileManager.default.makeDirectory(repo.path.string + "/media")
        var published = RefCommits()
        let staged = Dictionary(screenshots.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
        for ref in refs {
            guard let name = RefName(ref.refName) else { continue }
            switch name {
            case .app(let id, _, let branch):
                published.append(ref: ref.refName, commit: try readRef(repo: repo.path, ref: ref.refName))
                await context.log("generating \(id).flatpakref")
                try writeFlatpakRef(id: id, branch: branch, repo: repo, env: env)
            case .runtime:
                published.append(ref: ref.refName, commit: try readRef(repo: repo.path, ref: ref.refName))
            case .screenshots:
                guard let tree = staged[ref.refName] else { continue }
                await context.log("extracting \(ref.refName)")
                try copyScreenshots(tree, into: repo.path.string + "/media")
            }
        }
        try await recordCurrentTimestamps(refs: refs, repo: repo, in: context)
        return PublishResult(refs: published, updateRepoJob: try await queueUpdate(repo: repo, in: context))
    }

    /// A screenshots ref checked out into the staging directory and inspected.
    struct StagedScreenshots {
        let ref: String
        let directory: String
        let entries: [NoFollowTree.Entry]
    }

    /// A fresh private directory (mode 0700) below the build's `tmp/`: on the build's file system, and, as a
    /// dot-directory, not reachable through `/build-repo/<id>/...` (file serving refuses dot segments).
    func makeStagingDirectory(buildDir: String) throws(JobError) -> String {
        try FileManager.default.makeDirectory(buildDir + "/tmp")
        var template = Array((buildDir + "/tmp/.screenshots-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let created else { throw .io("Cannot create a staging directory for screenshots") }
        return created
    }

    /// For each `screenshots/` ref, in build-ref order: the binding to an app is checked again (the refs may have
    /// changed since it was added), the commit is checked out into its own fresh directory below `staging`, and the
    /// tree is inspected. Anything but directories and singly linked regular files fails the publish, naming the
    /// entry.
    func stageScreenshots(build: Build, refs: [BuildRef], staging: String, in context: JobContext)
        async throws(JobError) -> [StagedScreenshots]
    {
        let refNames = refs.map(\.refName)
        var staged: [StagedScreenshots] = []
        for ref in refs {
            guard case .screenshots(let arch) = RefName(ref.refName) else { continue }
            // No token here: only what no token could make right is refused, i.e. screenshots of several apps.
            if case .ambiguous(let ids) = ScreenshotOwner(arch: arch, buildAppID: build.appID, refNames: refNames) {
                throw .refused(
                    ref.refName, reason: "it is not attributable to one app (\(ids.joined(separator: ", ")))")
            }
            let directory = "\(staging)/\(staged.count)"
            try await context.run(
                .ostreeCheckoutScreenshotsToStaging(
                    repo: context.environment.buildDirectory(buildID), ref: ref.refName, staging: FilePath(directory)))
            do {
                staged.append(
                    StagedScreenshots(
                        ref: ref.refName, directory: directory, entries: try NoFollowTree.inspect(FilePath(directory))))
            } catch {
                throw .refused(ref.refName, reason: "\(error)")
            }
        }
        return staged
    }

    /// Copies an inspected tree into `media/` (which may be a symlink to another disk) without following links.
    func copyScreenshots(_ tree: StagedScreenshots, into media: String) throws(JobError) {
        do {
            try NoFollowTree.copy(tree.entries, from: FilePath(tree.directory), into: FilePath(media))
        } catch {
            throw .refused(tree.ref, reason: "\(error)")
        }
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
