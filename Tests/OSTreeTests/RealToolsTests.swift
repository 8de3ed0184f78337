import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

/// The named commands run against the real flatpak and ostree, in the order the jobs run them
/// (server.md §4.3, §4.5, §4.6, §4.7, §8): proof that the tools accept our argument lists and our repo layout.
@Suite("Commands with the real tools", .enabled(if: TestEnvironment.hasOSTree))
struct RealToolsTests {
    let runner = CommandRunner(timeout: .seconds(120))

    @Test func aBuildGoesThroughCommitPublishUpdateRepublishAndPrune() async throws {
        try await withTemporaryDirectory { directory in
            let (src, ref, uploaded) = try await OSTreeFixtures.makeFlatpakSource(in: directory)
            let main = directory + "/main"
            try await OSTreeFixtures.run(
                "ostree", "init", "--repo=\(main)", "--mode=archive-z2", "--collection-id=org.test.Repo")
            let build = directory + "/build/1"
            try RepoLayout.createBuildRepository(
                at: FilePath(build), parent: FilePath(main), collectionID: "org.test.Repo.Build1")
            try RepoLayout.createBuildRepository(
                at: FilePath(build + "/upload"), parent: FilePath(main), collectionID: nil)
            try await OSTreeFixtures.run("ostree", "--repo=\(build)/upload", "pull-local", src, ref)

            let committed = try await commit(build: build, ref: ref, uploaded: uploaded)
            let published = try await publish(build: build, main: main, ref: ref)
            try await extractScreenshots(build: build, main: main, in: directory)
            try await updateRepo(main: main, commit: published)
            try await republish(main: main, ref: ref, before: published)
            try await runner.run(.flatpakPrune(repo: FilePath(main), dryRun: true))

            #expect(committed != uploaded)
        }
    }

    /// §4.3: build-commit-from into the build repo, build-update-repo, appstream checkout.
    func commit(build: String, ref: String, uploaded: String) async throws -> String {
        try await runner.run(
            .flatpakCommitToBuild(
                upload: FilePath(build + "/upload"), build: FilePath(build), ref: ref, commit: uploaded, gpg: .none,
                endOfLife: nil,
                endOfLifeRebase: nil, tokenType: 2))
        let committed = try #require(try Refs.read(repo: FilePath(build), ref: ref))
        let commit = try LocalRepo(path: FilePath(build)).loadCommit(committed)
        #expect(commit.tokenType == 2)
        #expect(commit.metadata["ostree.collection-binding"] == .string("org.test.Repo.Build1"))

        try await runner.run(.flatpakUpdateBuildRepo(build: FilePath(build), gpg: .none))
        let appstreamRefs = try Refs.list(repo: FilePath(build), prefix: "appstream")
        #expect(appstreamRefs == ["appstream/x86_64"])
        try FileManager.default.createDirectory(atPath: build + "/appstream", withIntermediateDirectories: true)
        for appstream in appstreamRefs {
            try await runner.run(
                .ostreeCheckoutAppstream(
                    repo: FilePath(build), ref: appstream, destination: FilePath(build + "/" + appstream)))
        }
        #expect(FileManager.default.fileExists(atPath: build + "/appstream/x86_64"))
        return committed
    }

    /// §4.5 step 2: import into the main repo with an extra collection id.
    func publish(build: String, main: String, ref: String) async throws -> String {
        try await runner.run(
            .flatpakPublish(
                build: FilePath(build), repo: FilePath(main), gpg: .none, extraCollectionIDs: ["org.test.Repo.Extra"]))
        let published = try #require(try Refs.read(repo: FilePath(main), ref: ref))
        #expect(try LocalRepo(path: FilePath(main)).loadCommit(published).tokenType == 2)
        #expect(FileManager.default.fileExists(atPath: main + "/refs/mirrors/org.test.Repo.Extra/" + ref))
        return published
    }

    /// §4.5 step 5: a `screenshots/<arch>` ref of the build is checked out into a staging directory, whose tree
    /// `--user-mode` makes of singly linked regular files (so `NoFollowTree.inspect` passes honest screenshots),
    /// and copied into `REPO/media`.
    func extractScreenshots(build: String, main: String, in directory: String) async throws {
        try OSTreeFixtures.write("png", to: directory + "/shots/org.test.App/shot.png")
        try OSTreeFixtures.write("png", to: directory + "/shots/org.test.App/same-content.png")
        try await OSTreeFixtures.run(
            "ostree", "--repo=\(build)", "commit", "--branch=screenshots/x86_64", directory + "/shots")
        try FileManager.default.createDirectory(atPath: main + "/media", withIntermediateDirectories: true)
        let staging = directory + "/staging"

        try await runner.run(
            .ostreeCheckoutScreenshotsToStaging(
                repo: FilePath(build), ref: "screenshots/x86_64", staging: FilePath(staging)))
        let entries = try NoFollowTree.inspect(FilePath(staging))
        try NoFollowTree.copy(entries, from: FilePath(staging), into: FilePath(main + "/media"))

        #expect(try String(contentsOfFile: main + "/media/org.test.App/shot.png", encoding: .utf8) == "png")
    }

    /// §4.6: appstream, deltas, summary.
    func updateRepo(main: String, commit: String) async throws {
        try await runner.run(.flatpakUpdateRepo(repo: FilePath(main), gpg: .none, noUpdateSummary: true))
        let config = try OSTreeFixtures.repoConfig(
            path: main, extra: "\"deltas\": [{\"id\": [\"org.test.*\"], \"depth\": 2}]")
        let missing = try DeltaPlanning.wantedDeltas(repo: FilePath(main), config: config)
            .subtracting(DeltaPlanning.existingDeltas(repo: FilePath(main)))
        #expect(missing.contains(Delta(from: nil, to: commit)))
        for delta in missing {
            try await runner.run(.flatpakGenerateDelta(repo: FilePath(main), from: delta.from, to: delta.to))
        }
        try await runner.run(.flatpakUpdateRepo(repo: FilePath(main), gpg: .none, noUpdateAppstream: true))

        #expect(try DeltaPlanning.existingDeltas(repo: FilePath(main)).isSuperset(of: missing))
        #expect(FileManager.default.fileExists(atPath: main + "/summary"))
    }

    /// §4.7: copy the app's refs to a temporary repo and back with an end-of-life.
    func republish(main: String, ref: String, before: String) async throws {
        let tmp = main + "/tmp/republish-repos/.tmpTEST"
        try RepoLayout.createBuildRepository(at: FilePath(tmp), parent: FilePath(main), collectionID: nil)
        let refs = try Refs.list(repo: FilePath(main), prefix: "app/org.test.App")
        #expect(refs == [ref])
        for ref in refs {
            try await runner.run(.flatpakRepublishImport(src: FilePath(main), tmp: FilePath(tmp), ref: ref))
        }
        try await runner.run(
            .flatpakRepublishExport(
                tmp: FilePath(tmp), repo: FilePath(main), gpg: .none, endOfLife: "Gone", endOfLifeRebase: nil))

        let after = try #require(try Refs.read(repo: FilePath(main), ref: ref))
        #expect(after != before)
        #expect(try LocalRepo(path: FilePath(main)).loadCommit(after).string("ostree.endoflife") == "Gone")
    }
}
