import FlatManagerCore
import Testing

@testable import FlatManagerStore

/// Every (database, state) pair a transition must refuse.
struct StateCase: Sendable, CustomTestStringConvertible {
    var kind: DatabaseKind
    var repoState: RepoState
    var publishedState: PublishedState = .unpublished

    var testDescription: String { "\(kind) \(repoState.name)/\(publishedState.name)" }

    static func cases(repoStates: [RepoState], publishedStates: [PublishedState] = [.unpublished]) -> [StateCase] {
        TestDatabase.kinds.flatMap { kind in
            repoStates.flatMap { repo in
                publishedStates.map { StateCase(kind: kind, repoState: repo, publishedState: $0) }
            }
        }
    }
}

@Suite("Build state transitions")
struct TransitionTests {
    static let commitContents = JobContents.commit(build: 1, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil)

    @Test("Committing an uploading build queues the commit job", arguments: TestDatabase.kinds)
    func beginCommitQueuesJob(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()

            let transition = try await store.beginCommit(buildID: build.id, contents: Self.commitContents)

            guard case .done(let job) = transition else {
                Issue.record("refused: \(String(describing: transition))")
                return
            }
            let read = try await store.build(id: build.id)
            #expect(job.kind == .commit)
            #expect(job.status == .new)
            #expect(job.repo == nil)
            #expect(job.contents == Self.commitContents.json)
            #expect(read?.repoState == .committing)
            #expect(read?.commitJobID == job.id)
        }
    }

    @Test("Committing a missing build yields nil", arguments: TestDatabase.kinds)
    func beginCommitOnMissingBuild(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let transition = try await store.beginCommit(buildID: 42, contents: Self.commitContents)

            #expect(transition == nil)
        }
    }

    @Test(
        "Committing is refused in every state but uploading",
        arguments: StateCase.cases(repoStates: RepoState.allCases.filter { $0 != .uploading }))
    func beginCommitRefused(state: StateCase) async throws {
        try await TestDatabase.withStore(state.kind) { store in
            var build = try await store.makeBuild()
            build.repoState = state.repoState
            try await store.force(build)

            let transition = try await store.beginCommit(buildID: build.id, contents: Self.commitContents)

            guard case .refused(let current) = transition else {
                Issue.record("not refused: \(String(describing: transition))")
                return
            }
            #expect(current.repoState == state.repoState)
            #expect(try await store.activeJobs().isEmpty)
        }
    }

    @Test("Finishing a commit sets Ready, Validating with checks, or Failed", arguments: TestDatabase.kinds)
    func finishCommitOutcomes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let ready = try await committingBuild(store)
            let validating = try await committingBuild(store)
            let failed = try await committingBuild(store)

            #expect(try await store.finishCommit(buildID: ready.id, outcome: .ready))
            #expect(try await store.finishCommit(buildID: validating.id, outcome: .validating(checks: ["a", "b"])))
            #expect(try await store.finishCommit(buildID: failed.id, outcome: .failed("boom")))

            #expect(try await store.build(id: ready.id)?.repoState == .ready)
            #expect(try await store.build(id: validating.id)?.repoState == .validating)
            let failedRead = try await store.build(id: failed.id)
            #expect(failedRead?.repoState == .failed)
            #expect(failedRead?.repoStateReason == "boom")
            let checks = try await store.checks(buildID: validating.id)
            #expect(checks.map(\.checkName) == ["a", "b"])
            #expect(checks.allSatisfy { $0.status == .pending })
            let checkJob = try await store.job(id: checks[0].jobID)
            #expect(checkJob?.kind == .check)
            #expect(checkJob?.repo == nil)
            #expect(checkJob?.contents == JobContents.check(build: validating.id, name: "a").json)
        }
    }

    @Test("Finishing a commit of a build that is no longer committing changes nothing", arguments: TestDatabase.kinds)
    func finishCommitRefused(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            var build = try await committingBuild(store)
            build.repoState = .failed
            build.repoStateReason = Store.restartedDuringJobReason
            try await store.force(build)

            let changed = try await store.finishCommit(buildID: build.id, outcome: .ready)

            #expect(!changed)
            #expect(try await store.build(id: build.id)?.repoState == .failed)
        }
    }

    @Test("Publishing a ready build queues the publish job on its repo", arguments: TestDatabase.kinds)
    func beginPublishQueuesJob(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            var build = try await store.makeBuild(repo: "beta")
            build.repoState = .ready
            try await store.force(build)

            let transition = try await store.beginPublish(buildID: build.id)

            guard case .done(let job) = transition else {
                Issue.record("refused: \(String(describing: transition))")
                return
            }
            let read = try await store.build(id: build.id)
            #expect(job.kind == .publish)
            #expect(job.repo == "beta")
            #expect(job.contents == JobContents.publish(build: build.id).json)
            #expect(read?.publishedState == .publishing)
            #expect(read?.publishJobID == job.id)
        }
    }

    @Test(
        "Publishing is refused unless unpublished and ready",
        arguments: StateCase.cases(repoStates: RepoState.allCases.filter { $0 != .ready })
            + StateCase.cases(repoStates: [.ready], publishedStates: [.publishing, .published, .failed]))
    func beginPublishRefused(state: StateCase) async throws {
        try await TestDatabase.withStore(state.kind) { store in
            var build = try await store.makeBuild()
            build.repoState = state.repoState
            build.publishedState = state.publishedState
            try await store.force(build)

            let transition = try await store.beginPublish(buildID: build.id)

            guard case .refused(let current) = transition else {
                Issue.record("not refused: \(String(describing: transition))")
                return
            }
            #expect(current.publishedState == state.publishedState)
            #expect(current.repoState == state.repoState)
        }
    }

    @Test("Finishing a publish sets Published or Failed", arguments: TestDatabase.kinds)
    func finishPublishOutcomes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let good = try await publishingBuild(store)
            let bad = try await publishingBuild(store)

            #expect(try await store.finishPublish(buildID: good.id, failure: nil))
            #expect(try await store.finishPublish(buildID: bad.id, failure: "exploded"))

            #expect(try await store.build(id: good.id)?.publishedState == .published)
            let badRead = try await store.build(id: bad.id)
            #expect(badRead?.publishedState == .failed)
            #expect(badRead?.publishedStateReason == "exploded")
            #expect(try await !store.finishPublish(buildID: good.id, failure: nil))
        }
    }

    @Test("A successful publish repairs a build failed by a restart during publish", arguments: TestDatabase.kinds)
    func finishPublishAfterRestart(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            var build = try await publishingBuild(store)
            build.publishedState = .failed
            build.publishedStateReason = Store.restartedDuringPublishReason
            try await store.force(build)

            #expect(try await !store.finishPublish(buildID: build.id, failure: "again"))
            #expect(try await store.finishPublish(buildID: build.id, failure: nil))

            let read = try await store.build(id: build.id)
            #expect(read?.publishedState == .published)
            #expect(read?.publishedStateReason == nil)
        }
    }

    @Test(
        "Purging is allowed from uploading, ready, failed and purged",
        arguments: StateCase.cases(repoStates: [.uploading, .ready, .failed, .purged]))
    func beginPurgeAllowed(state: StateCase) async throws {
        try await TestDatabase.withStore(state.kind) { store in
            var build = try await store.makeBuild()
            build.repoState = state.repoState
            try await store.force(build)

            let transition = try await store.beginPurge(buildID: build.id)

            guard case .done(let purging) = transition else {
                Issue.record("refused: \(String(describing: transition))")
                return
            }
            #expect(purging.repoState == .purging)
            #expect(try await store.build(id: build.id)?.repoState == .purging)
        }
    }

    @Test(
        "Purging is refused while committing, purging, validating or publishing",
        arguments: StateCase.cases(repoStates: [.committing, .purging, .validating])
            + StateCase.cases(repoStates: [.ready], publishedStates: [.publishing]))
    func beginPurgeRefused(state: StateCase) async throws {
        try await TestDatabase.withStore(state.kind) { store in
            var build = try await store.makeBuild()
            build.repoState = state.repoState
            build.publishedState = state.publishedState
            try await store.force(build)

            let transition = try await store.beginPurge(buildID: build.id)

            guard case .refused(let current) = transition else {
                Issue.record("not refused: \(String(describing: transition))")
                return
            }
            #expect(current.repoState == state.repoState)
        }
    }

    @Test("Finishing a purge sets Purged or Failed and refuses other states", arguments: TestDatabase.kinds)
    func finishPurgeOutcomes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let good = try await store.makeBuild()
            let bad = try await store.makeBuild()
            _ = try await store.beginPurge(buildID: good.id)
            _ = try await store.beginPurge(buildID: bad.id)

            let purged = try await store.finishPurge(buildID: good.id, failure: nil)
            let failed = try await store.finishPurge(buildID: bad.id, failure: "Failed to Purge build: gone")

            #expect(purged.repoState == .purged)
            #expect(failed.repoState == .failed)
            #expect(failed.repoStateReason == "Failed to Purge build: gone")
            await #expect(throws: StoreError.self) { try await store.finishPurge(buildID: good.id, failure: nil) }
            await #expect(throws: StoreError.notFound) { try await store.finishPurge(buildID: 999, failure: nil) }
        }
    }

    private func committingBuild(_ store: Store) async throws -> Build {
        let build = try await store.makeBuild()
        _ = try await store.beginCommit(buildID: build.id, contents: Self.commitContents)
        return try #require(try await store.build(id: build.id))
    }

    private func publishingBuild(_ store: Store) async throws -> Build {
        var build = try await store.makeBuild()
        build.repoState = .ready
        try await store.force(build)
        _ = try await store.beginPublish(buildID: build.id)
        return try #require(try await store.build(id: build.id))
    }
}
