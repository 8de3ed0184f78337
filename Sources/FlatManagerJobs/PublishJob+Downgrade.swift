import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage

/// Ours (issue #15), the repo key `downgrade-protection`: a publish must not make a ref current with a commit the
/// build machine made earlier than the one current now (what `ostree-receive` refuses too). A stolen upload token
/// could otherwise push an old, vulnerable build to every user as an update. The timestamps compared are those of
/// the uploaded commits (the commit job records them before it re-stamps the commits, CommitJob+Safety.swift).
/// The publish request's `allow-downgrade` overrides it, and a build that ends a ref's life is exempt.
extension PublishJob {
    /// Fails the publish, before the hook and the import, when a ref would go back in time; logs each allowed
    /// exception. A ref without a recorded uploaded timestamp (committed before this existed) is not checked.
    func refuseDowngrades(refs: [BuildRef], repo: RepoConfig, in context: JobContext) async throws(JobError) {
        guard repo.downgradeProtection else { return }
        let store = context.store
        let buildID = buildID
        let repoName = repo.name
        let sources = try await context.db { try await store.sourceTimestamps(buildID: buildID) }
        let current = try await context.db { try await store.currentSourceTimestamps(repo: repoName) }
        let buildDir = context.environment.buildDirectory(buildID)
        for ref in refs where Self.becomesCurrent(ref.refName) {
            guard let source = sources[ref.refName] else {
                await context.log("Downgrade protection: no uploaded timestamp is recorded for \(ref.refName)")
                continue
            }
            guard let recorded = current[ref.refName], source < recorded else { continue }
            let what =
                "ref \(ref.refName): the uploaded commit is from \(Self.describe(source)), older than the current "
                + "one from \(Self.describe(recorded))"
            if Self.endsLife(ref.refName, buildDir: buildDir) {
                await context.log("Downgrade protection: \(what); allowed, the build ends the ref's life")
            } else if allowDowngrade {
                await context.log("Downgrade protection: \(what); allowed by allow-downgrade")
            } else {
                await context.log("Downgrade protection: refusing \(what)")
                throw .refused(
                    ref.refName,
                    reason: "its uploaded commit is from \(Self.describe(source)), older than the current one from "
                        + "\(Self.describe(recorded)) (downgrade protection; publish with allow-downgrade to override)")
            }
        }
    }

    /// After the import: the build's uploaded timestamps become the current ones of its app and runtime refs.
    /// Recorded whether or not the repo protects against downgrades, so that turning it on later has a baseline.
    func recordCurrentTimestamps(refs: [BuildRef], repo: RepoConfig, in context: JobContext) async throws(JobError) {
        let store = context.store
        let buildID = buildID
        let repoName = repo.name
        let names = Set(refs.map(\.refName).filter(Self.becomesCurrent))
        let sources = try await context.db { try await store.sourceTimestamps(buildID: buildID) }
        let made = sources.filter { names.contains($0.key) }
        try await context.ensureLease()
        try await context.db { try await store.recordCurrentSourceTimestamps(made, repo: repoName, buildID: buildID) }
    }

    /// App and runtime refs become current in the main repository; screenshots do not.
    static func becomesCurrent(_ refName: String) -> Bool {
        refName.hasPrefix("app/") || refName.hasPrefix("runtime/")
    }

    /// Whether the build repository's commit of `ref` carries end-of-life metadata (the commit job's
    /// `--end-of-life` / `--end-of-life-rebase`).
    static func endsLife(_ ref: String, buildDir: FilePath) -> Bool {
        guard let commit = try? Refs.read(repo: buildDir, ref: ref),
            let object = try? LocalRepo(path: buildDir).loadCommit(commit)
        else { return false }
        return object.string("ostree.endoflife") != nil || object.string("ostree.endoflife-rebase") != nil
    }

    /// `2020-01-01T00:00:00Z (1577836800)`.
    static func describe(_ seconds: Int64) -> String {
        "\(Timestamp(secondsSinceEpoch: seconds).naiveString)Z (\(seconds))"
    }
}
