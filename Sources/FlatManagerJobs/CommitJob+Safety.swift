import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// Ours (issue #15): what the commit job learns from the uploaded commits before it re-stamps them. Every ref's
/// uploaded timestamp is recorded for downgrade protection (PublishJob+Downgrade.swift); with the repo's
/// `metadata-lint`, a build whose metadata disagrees with itself, its refs or its app id is refused.
extension CommitJob {
    /// Runs before anything is committed, so a refused build leaves the build repository untouched. A run resumed
    /// after the interrupted one removed the upload finds nothing to inspect: that one inspected everything first.
    func inspectUploads(build: Build, refs: [BuildRef], repo: RepoConfig, in context: JobContext)
        async throws(JobError)
    {
        let env = context.environment
        let uploadDir = env.storage.uploadDirectory(buildID)
        guard FileManager.default.fileExists(atPath: uploadDir.string) else { return }
        let repositories = [uploadDir, env.buildDirectory(buildID), repo.path]
        var timestamps: [String: Int64] = [:]
        var problems: [String] = []
        for ref in refs {
            guard let commit = Self.uploadedCommit(ref.commit, in: repositories) else {
                if repo.metadataLint { problems.append("\(ref.refName): the uploaded commit cannot be read") }
                continue
            }
            // Beyond Int64 (far past the year 2^62 s) is recorded as the largest value rather than trapping.
            timestamps[ref.refName] = Int64(exactly: commit.timestamp) ?? Int64.max
            if repo.metadataLint {
                problems += try await lint(ref, commit: commit, build: build, uploadDir: uploadDir, in: context)
            }
        }
        let recorded = timestamps
        let store = context.store
        let buildID = buildID
        // Not fenced in SQL: the values are the same whichever run writes them, so a lease check before is enough.
        try await context.ensureLease()
        try await context.db { try await store.recordSourceTimestamps(recorded, buildID: buildID) }
        guard problems.isEmpty else {
            for problem in problems { await context.log("Metadata lint: \(problem)") }
            throw .refused("build \(buildID)", reason: "metadata lint: " + problems.joined(separator: "; "))
        }
    }

    /// The uploaded commit object, from the upload or, when the client did not need to upload it, from the
    /// repositories the upload's objects fall back to. Nil when none has a readable one.
    static func uploadedCommit(_ checksum: String, in repositories: [FilePath]) -> CommitObject? {
        for path in repositories {
            if let commit = try? LocalRepo(path: path).loadCommit(checksum) { return commit }
        }
        return nil
    }

    /// The lint's problems for one ref, each prefixed with the ref. The tree's `/metadata` is read with
    /// `ostree cat` (bounded by the runner's output limit); a failure to read it is a problem, not an error.
    func lint(_ ref: BuildRef, commit: CommitObject, build: Build, uploadDir: FilePath, in context: JobContext)
        async throws(JobError) -> [String]
    {
        var file: [UInt8]?
        var unreadable: String?
        if ref.refName.hasPrefix("app/") || ref.refName.hasPrefix("runtime/") {
            do throws(JobError) {
                file = try await context.run(.ostreeCat(repo: uploadDir, commit: ref.commit, path: "/metadata"))
                    .stdoutBytes
            } catch {
                if case .lostLease = error { throw error }
                unreadable = String(error.description.prefix(300))
            }
        }
        return MetadataLint.problems(
            ref: ref.refName, commit: commit.metadata, metadataFile: file, unreadable: unreadable,
            buildAppID: build.appID
        ).map { "\(ref.refName): \($0)" }
    }
}
