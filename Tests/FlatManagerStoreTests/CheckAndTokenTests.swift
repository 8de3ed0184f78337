import FlatManagerCore
import Testing

@testable import FlatManagerStore

@Suite("Checks")
struct CheckTests {
    /// A Validating build with the checks `a` and `b`, and the check rows by name.
    private func validatingBuild(_ store: Store) async throws -> (Build, [String: Check]) {
        let build = try await store.makeBuild()
        _ = try await store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        _ = try await store.finishCommit(buildID: build.id, outcome: .validating(checks: ["b", "a"]))
        let checks = try await store.checks(buildID: build.id)
        return (build, Dictionary(uniqueKeysWithValues: checks.map { ($0.checkName, $0) }))
    }

    private func set(_ store: Store, _ check: Check?, _ status: CheckStatus, job: Bool = true) async throws -> Check? {
        try await store.setCheckStatus(
            jobID: try #require(check).jobID, status: status, results: nil, onlyIfPendingUnlessFailed: job)
    }

    @Test("All checks passed makes the build Ready", arguments: TestDatabase.kinds)
    func allPassedMakesReady(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let (build, checks) = try await validatingBuild(store)

            _ = try await set(store, checks["a"], .passed)
            let afterFirst = try await store.build(id: build.id)?.repoState
            _ = try await set(store, checks["b"], .passedWithWarnings("meh"))

            #expect(afterFirst == .validating)
            #expect(try await store.build(id: build.id)?.repoState == .ready)
            #expect(try await store.check(jobID: try #require(checks["b"]).jobID)?.status == .passedWithWarnings("meh"))
        }
    }

    @Test("One failed check fails the build with the count and names", arguments: TestDatabase.kinds)
    func oneFailedFailsBuild(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let (build, checks) = try await validatingBuild(store)

            _ = try await set(store, checks["a"], .failed("lint errors"))
            _ = try await set(store, checks["b"], .passed)

            let read = try await store.build(id: build.id)
            #expect(read?.repoState == .failed)
            #expect(read?.repoStateReason == "1 out of 2 checks failed (a)")
        }
    }

    @Test("A check awaiting review keeps the build Validating", arguments: TestDatabase.kinds)
    func reviewRequiredKeepsValidating(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let (build, checks) = try await validatingBuild(store)

            _ = try await set(store, checks["a"], .passed)
            _ = try await set(store, checks["b"], .reviewRequired("look at it"))

            #expect(try await store.build(id: build.id)?.repoState == .validating)
            let review = try await store.setCheckStatus(
                jobID: try #require(checks["b"]).jobID, status: .passed, results: "{\"by\":\"me\"}",
                onlyIfPendingUnlessFailed: false)
            #expect(review?.results == "{\"by\":\"me\"}")
            #expect(try await store.build(id: build.id)?.repoState == .ready)
        }
    }

    @Test(
        "A status the hook set itself survives the job's result unless that is a failure",
        arguments: TestDatabase.kinds)
    func hookStatusSurvives(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let (_, checks) = try await validatingBuild(store)
            _ = try await set(store, checks["a"], .passedWithWarnings("self"), job: false)
            _ = try await set(store, checks["b"], .passed, job: false)

            let kept = try await set(store, checks["a"], .reviewRequired("exit 1"))
            let overridden = try await set(store, checks["b"], .failed("exit 2"))

            #expect(kept?.status == .passedWithWarnings("self"))
            #expect(overridden?.status == .failed("exit 2"))
            #expect(
                try await store.setCheckStatus(
                    jobID: 999, status: .passed, results: nil, onlyIfPendingUnlessFailed: true) == nil)
        }
    }
}

@Suite("Tokens")
struct TokenTests {
    @Test("A first use creates the row, later uses refresh it", arguments: TestDatabase.kinds)
    func useCreatesAndRefreshes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let expires = Timestamp(secondsSinceEpoch: 1_900_000_000)

            let first = try await store.recordTokenUse(jti: "ci-17", expires: expires)
            let usage1 = try await store.tokenUsages(["ci-17"])
            let second = try await store.recordTokenUse(jti: "ci-17", expires: expires)
            let usage2 = try await store.tokenUsages(["ci-17", "unknown"])

            #expect(first && second)
            #expect(usage1.count == 1)
            #expect(usage1.first?.expires == expires)
            #expect(usage1.first?.revokedAt == nil)
            #expect(usage2.count == 1)
            #expect(try #require(usage2.first?.lastUsed) >= (try #require(usage1.first?.lastUsed)))
        }
    }

    @Test(
        "A long list of ids, with repeats, is revoked whole across the statements it is split into",
        arguments: TestDatabase.kinds)
    func revokeManyIDs(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            try await store.revokeTokens(["early"])
            let early = try #require(try await store.tokenUsages(["early"]).first?.revokedAt)
            let ids = (0..<2_500).map { "bulk-\($0)" }

            try await store.revokeTokens(ids + ids.prefix(1_200) + ["early", "early"])

            let usages = try await store.tokenUsages(ids + ["early"])
            #expect(usages.count == 2_501)
            #expect(usages.allSatisfy { $0.revokedAt != nil })
            #expect(usages.first { $0.tokenID == "early" }?.revokedAt == early)
            #expect(!(try await store.recordTokenUse(jti: "bulk-2499", expires: Timestamp(secondsSinceEpoch: 1))))
        }
    }

    @Test("Revoked tokens are refused and keep their first revocation time", arguments: TestDatabase.kinds)
    func revocation(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await store.recordTokenUse(jti: "t1", expires: Timestamp(secondsSinceEpoch: 1_900_000_000))

            try await store.revokeTokens(["t1", "never-used"])
            let revokedAt = try await store.tokenUsages(["t1"]).first?.revokedAt
            try await store.revokeTokens(["t1"])
            let usable = try await store.recordTokenUse(jti: "t1", expires: Timestamp(secondsSinceEpoch: 1))

            #expect(!usable)
            #expect(revokedAt != nil)
            #expect(try await store.tokenUsages(["t1"]).first?.revokedAt == revokedAt)
            let unknown = try await store.tokenUsages(["never-used"])
            #expect(unknown.map(\.tokenID) == ["never-used"])
            #expect(unknown.first?.expires == nil)
            #expect(try await store.tokenUsages([]).isEmpty)
        }
    }
}
