import FlatManagerCore
import Foundation
import Testing

@testable import FlatManagerStore

/// Downgrade protection's tables (migration swift-0005) and the publish job's `allow-downgrade`, on both engines.
@Suite("Ref source timestamps")
struct RefTimestampTests {
    @Test("a build's uploaded timestamps are recorded, replaced and read back", arguments: TestDatabase.kinds)
    func buildTimestamps(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let build = try await store.makeBuild()
            let other = try await store.makeBuild()
            let app = "app/org.x.App/x86_64/stable"
            let runtime = "runtime/org.x.App.Locale/x86_64/stable"

            // Act
            try await store.recordSourceTimestamps([app: 1_577_836_800, runtime: 5], buildID: build.id)
            try await store.recordSourceTimestamps([runtime: Int64.max], buildID: build.id)
            try await store.recordSourceTimestamps([:], buildID: other.id)

            // Assert
            #expect(try await store.sourceTimestamps(buildID: build.id) == [app: 1_577_836_800, runtime: Int64.max])
            #expect(try await store.sourceTimestamps(buildID: other.id).isEmpty)
        }
    }

    @Test("the current timestamps are per repo and the latest publish wins", arguments: TestDatabase.kinds)
    func currentTimestamps(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let first = try await store.makeBuild()
            let second = try await store.makeBuild()
            let app = "app/org.x.App/x86_64/stable"

            // Act
            try await store.recordCurrentSourceTimestamps([app: 200], repo: "stable", buildID: first.id)
            try await store.recordCurrentSourceTimestamps([app: 100], repo: "stable", buildID: second.id)
            try await store.recordCurrentSourceTimestamps([app: 300], repo: "beta", buildID: first.id)

            // Assert
            #expect(try await store.currentSourceTimestamps(repo: "stable") == [app: 100])
            #expect(try await store.currentSourceTimestamps(repo: "beta") == [app: 300])
            #expect(try await store.currentSourceTimestamps(repo: "other").isEmpty)
        }
    }

    @Test(
        "allow-downgrade travels in the publish job's contents and survives the job being resumed",
        arguments: TestDatabase.kinds)
    func allowDowngradeSurvivesResume(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            var build = try await store.makeBuild()
            build.repoState = .ready
            try await store.force(build)
            _ = try await store.beginPublish(buildID: build.id, allowDowngrade: true)
            let claimed = try #require(
                try await store.claimNextJob(
                    queue: .repo("stable"), owner: "deadhost:1:1", leaseSeconds: 60, allowConcurrent: false))

            // Act
            _ = try await store.recoverInterruptedJobs(owner: "me:3:3", isOwnerAlive: { _ in false }, maxResumes: 3)
            let resumed = try #require(
                try await store.claimNextJob(
                    queue: .repo("stable"), owner: "me:3:3", leaseSeconds: 60, allowConcurrent: false))

            // Assert
            #expect(resumed.id == claimed.id)
            #expect(
                JobContents(kind: .publish, json: resumed.contents)
                    == .publish(build: build.id, allowDowngrade: true))
        }
    }
}
