import FlatManagerCore
import SQLKit
import Testing

@testable import FlatManagerStore

@Suite("Builds and build refs")
struct BuildTests {
    @Test("A created build reads back with every column", arguments: TestDatabase.kinds)
    func createdBuildReadsBack(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let created = try await store.createBuild(
                repo: "beta", appID: "org.example.App", publicDownload: false, buildLogURL: "https://ci/1",
                tokenName: "-", tokenType: "app", tokenBranches: ["stable", "beta"])

            let read = try await store.build(id: created.id)

            #expect(read == created)
            #expect(created.repoState == .uploading)
            #expect(created.publishedState == .unpublished)
            #expect(created.repo == "beta")
            #expect(created.extraIDs == [])
            #expect(created.publicDownload == false)
            #expect(created.tokenBranches == ["stable", "beta"])
            #expect(abs(created.created.secondsSinceEpoch - Timestamp.now().secondsSinceEpoch) < 60)
        }
    }

    @Test("A missing build reads as nil", arguments: TestDatabase.kinds)
    func missingBuildIsNil(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let missing = try await store.build(id: 999)

            #expect(missing == nil)
        }
    }

    @Test("Listing without an app id returns only unpurged builds without one", arguments: TestDatabase.kinds)
    func listingFiltersByAppID(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let legacy = try await store.makeBuild()
            var purged = try await store.makeBuild()
            purged.repoState = .purged
            try await store.force(purged)
            let app = try await store.makeBuild(appID: "org.example.App")
            _ = try await store.makeBuild(appID: "org.example.Other")

            let withoutAppID = try await store.builds(appID: nil)
            let withAppID = try await store.builds(appID: "org.example.App")

            #expect(withoutAppID.map(\.id) == [legacy.id])
            #expect(withAppID.map(\.id) == [app.id])
        }
    }

    @Test("Extra ids are appended without duplicates", arguments: TestDatabase.kinds)
    func extraIDsAreDeduplicated(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()

            _ = try await store.addExtraIDs(["Free", "Sub.Set"], buildID: build.id)
            let updated = try await store.addExtraIDs(["Sub.Set", "Beta"], buildID: build.id)

            #expect(updated?.extraIDs == ["Free", "Sub.Set", "Beta"])
            #expect(try await store.build(id: build.id)?.extraIDs == ["Free", "Sub.Set", "Beta"])
            #expect(try await store.addExtraIDs(["X"], buildID: 999) == nil)
        }
    }

    @Test("Marking a build failed stores the reason", arguments: TestDatabase.kinds)
    func buildFailedStoresReason(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()

            try await store.setBuildFailed(id: build.id, reason: "No refs in build")

            let read = try await store.build(id: build.id)
            #expect(read?.repoState == .failed)
            #expect(read?.repoStateReason == "No refs in build")
        }
    }

    @Test("An unknown stored state reads as Failed with reason Unknown state", arguments: TestDatabase.kinds)
    func unknownStateReadsAsFailed(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()
            let unknown: Int16 = 42
            try await store.withDatabase { db in
                try await db.raw("UPDATE builds SET repo_state = \(bind: unknown) WHERE id = \(bind: build.id)").run()
            }

            let read = try await store.build(id: build.id)

            #expect(read?.repoState == .failed)
            #expect(read?.repoStateReason == "Unknown state")
            #expect(read?.publishedState == .unpublished)
        }
    }

    @Test("Re-posting a ref with the same commit returns the row unchanged", arguments: TestDatabase.kinds)
    func sameCommitKeepsRow(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()
            let first = try await store.upsertBuildRef(
                buildID: build.id, refName: "app/a.b/x86_64/stable", commit: "c1", buildLogURL: "log1")

            let again = try await store.upsertBuildRef(
                buildID: build.id, refName: "app/a.b/x86_64/stable", commit: "c1", buildLogURL: "log2")

            #expect(again == first)
            #expect(try await store.buildRefs(buildID: build.id) == [first])
        }
    }

    @Test("Re-posting a ref with a new commit replaces commit and log URL", arguments: TestDatabase.kinds)
    func differentCommitUpdatesRow(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()
            let first = try await store.upsertBuildRef(
                buildID: build.id, refName: "app/a.b/x86_64/stable", commit: "c1", buildLogURL: "log1")
            let second = try await store.upsertBuildRef(
                buildID: build.id, refName: "runtime/a.b/x86_64/stable", commit: "c2", buildLogURL: nil)

            let replaced = try await store.upsertBuildRef(
                buildID: build.id, refName: "app/a.b/x86_64/stable", commit: "c3", buildLogURL: "log3")

            #expect(replaced.id == first.id)
            #expect(replaced.commit == "c3")
            #expect(replaced.buildLogURL == "log3")
            #expect(try await store.buildRefs(buildID: build.id) == [replaced, second])
            #expect(try await store.buildRef(id: second.id, buildID: build.id) == second)
            #expect(try await store.buildRef(id: second.id, buildID: build.id + 1) == nil)
        }
    }
}
