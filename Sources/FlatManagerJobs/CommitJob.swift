import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// Imports the uploaded commits into the build repository (server.md §4.3).
struct CommitJob: JobHandler {
    static let kind = JobKind.commit
    let buildID: Int32
    let endOfLife: String?
    let endOfLifeRebase: String?
    let tokenType: Int32?

    func run(in context: JobContext) async throws(JobError) -> CommitResult {
        let store = context.store
        let buildID = buildID
        guard let build = try await context.db({ try await store.build(id: buildID) }) else {
            throw .missingBuild(buildID)
        }
        let refs = try await context.db { try await store.buildRefs(buildID: buildID) }
        if let earlier = try await finishedEarlier(build, refs: refs, in: context) { return earlier }
        let outcome: Store.CommitOutcome
        let committed: RefCommits
        do throws(JobError) {
            // Upstream leaves the build in committing on these early failures; the spec lets us fail it instead,
            // which the 0.4.2 client needs (it polls while repo_state is 1).
            let repo = try context.environment.repoConfig(build.repo)
            guard !refs.isEmpty else { throw .noRefs }
            try await inspectUploads(build: build, refs: refs, repo: repo, in: context)
            committed = try await commit(refs: refs, in: context)
            let checks = repo.hooks.checks.keys.sorted()
            outcome = checks.isEmpty ? .ready : .validating(checks: checks)
        } catch {
            _ = try await context.db {
                try await store.finishCommit(buildID: buildID, outcome: .failed(error.description))
            }
            throw error
        }
        guard try await context.db({ try await store.finishCommit(buildID: buildID, outcome: outcome) }) else {
            throw .unexpectedBuildState(expected: "repo to be in Committing state", job: "commit")
        }
        return CommitResult(refs: committed)
    }

    func commit(refs: [BuildRef], in context: JobContext) async throws(JobError) -> RefCommits {
        let env = context.environment
        let buildDir = env.buildDirectory(buildID)
        let uploadDir = env.storage.uploadDirectory(buildID)
        let rebase = endOfLifeRebase.flatMap { target in
            refs.first { $0.refName.hasPrefix("app/") }.flatMap { RefName($0.refName)?.id }.map { "\($0)=\(target)" }
        }
        // Objects the build relies on the main repository for become its own first (`BorrowedObjects`).
        try await BorrowedObjectsAdoption.adopt(buildID: buildID, in: context)
        var pending: [BuildRef] = []
        for ref in refs {
            // Resumed: a ref the interrupted run committed is not committed again.
            if let earlier = Resume.commit(of: ref.refName, in: buildDir, importedFrom: ref.commit) {
                await context.log("Ref \(ref.refName) was committed before the interruption (\(earlier))")
            } else {
                pending.append(ref)
            }
        }
        for ref in pending { await context.log("Committing ref \(ref.refName) (\(ref.commit))") }
        if let ref = pending.first, pending.count == 1 {
            try await context.run(
                .flatpakCommitToBuild(
                    upload: uploadDir, build: buildDir, ref: ref.refName, commit: ref.commit, gpg: env.buildSigning,
                    endOfLife: endOfLife, endOfLifeRebase: rebase, tokenType: tokenType))
        } else if !pending.isEmpty {
            // One flatpak run for all refs (issue #13): it reads them from the upload repository's refs.
            try writeSourceRefs(pending, upload: uploadDir)
            try await context.run(
                .flatpakCommitRefsToBuild(
                    upload: uploadDir, build: buildDir, refs: pending.map(\.refName), gpg: env.buildSigning,
                    endOfLife: endOfLife, endOfLifeRebase: rebase, tokenType: tokenType))
        }
        var committed = RefCommits()
        for ref in refs {
            committed.append(ref: ref.refName, commit: try readRef(repo: buildDir, ref: ref.refName))
            try writeFlatpakRef(for: ref.refName, buildDir: buildDir, env: env)
        }
        await context.log("running build-update-repo")
        try await context.run(.flatpakUpdateBuildRepo(build: buildDir, gpg: env.buildSigning))
        await context.log("extracting appstream")
        try await extractAppstream(repo: buildDir, in: context)
        await context.log("Removing upload directory")
        try await context.ensureLease()
        do {
            // An interrupted run may have removed it already, or part of it. Renamed into the build directory and
            // removed in the background (Trash): its files are many journal updates on a busy disk.
            try Trash.discard(uploadDir.string, label: "upload", logger: env.logger)
        } catch {
            throw .io("Cannot remove \(uploadDir)", reason: error.localizedDescription)
        }
        return committed
    }

    /// Points `UPLOAD/refs/heads/<ref>` at each uploaded commit, for `flatpakCommitRefsToBuild`. The names were
    /// checked when the build refs were created; the upload repository is scratch space, removed after the commit.
    func writeSourceRefs(_ refs: [BuildRef], upload: FilePath) throws(JobError) {
        let fm = FileManager.default
        for ref in refs {
            let components = ref.refName.split(separator: "/", omittingEmptySubsequences: false)
            guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw .refused(ref.refName, reason: "it is not a ref name")
            }
            let path = "\(upload)/refs/heads/\(ref.refName)"
            try fm.makeDirectory((path as NSString).deletingLastPathComponent)
            try fm.writeText(ref.commit + "\n", to: path)
        }
    }

    /// For a run resumed after the interruption of one that already moved the build on: its result when the build
    /// is Ready or Validating by this job (the refs as committed), the recorded failure when this job failed it.
    /// Nil when the build is still Committing, i.e. the work is still to do.
    func finishedEarlier(_ build: Build, refs: [BuildRef], in context: JobContext) async throws(JobError)
        -> CommitResult?
    {
        guard build.repoState != .committing, build.commitJobID == context.job.id else { return nil }
        switch build.repoState {
        case .ready, .validating:
            await context.log("The build was committed before the interruption")
            let buildDir = context.environment.buildDirectory(buildID)
            var committed = RefCommits()
            for ref in refs {
                committed.append(ref: ref.refName, commit: try readRef(repo: buildDir, ref: ref.refName))
            }
            return CommitResult(refs: committed)
        case .failed:
            throw .failedBeforeInterruption(build.repoStateReason ?? "Build failed")
        default:
            return nil
        }
    }

    func writeFlatpakRef(for refName: String, buildDir: FilePath, env: JobEnvironment) throws(JobError) {
        guard let ref = RefName(refName), let id = ref.id else { return }
        let isRuntime: Bool
        let branch: String
        switch ref {
        case .app(_, _, let b):
            isRuntime = false
            branch = b
        case .runtime(let id, _, let b):
            let hidden = [".Debug", ".Locale", ".Sources", ".Docs"]
            if hidden.contains(where: { id.hasSuffix($0) }) { return }
            isRuntime = true
            branch = b
        case .screenshots:
            return
        }
        let text = FlatpakRef.build(
            id: id, branch: branch, isRuntime: isRuntime, buildID: buildID, baseURL: env.config.baseURL,
            gpgKey: env.exportedKeys.buildKey, runtimeRepoURL: nil)
        try FileManager.default.writeText(text, to: "\(buildDir)/\(id).flatpakref")
    }
}
