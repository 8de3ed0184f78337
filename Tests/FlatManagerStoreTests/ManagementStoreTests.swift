import FlatManagerCore
import Testing

@testable import FlatManagerStore

/// Issue #3's store parts: token use without a write per request, the late check failure, builds a prune must
/// spare.
@Suite("Management store")
struct ManagementStoreTests {
    @Test(
        "a second use within a minute writes nothing; revocation still refuses at once", arguments: TestDatabase.kinds)
    func tokenUseIsCoalesced(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let expires = Timestamp(secondsSinceEpoch: 1_900_000_000)
            _ = try await store.recordTokenUse(jti: "busy", expires: expires)
            let first = try #require(try await store.tokenUsages(["busy"]).first?.lastUsed)

            // Act
            let again = try await store.recordTokenUse(jti: "busy", expires: expires)
            let second = try #require(try await store.tokenUsages(["busy"]).first?.lastUsed)
            try await store.revokeTokens(["busy"])
            let afterRevoke = try await store.recordTokenUse(jti: "busy", expires: expires)

            // Assert
            #expect(again)
            #expect(second == first)
            #expect(!afterRevoke)
        }
    }

    @Test(
        "a check failing after its own review made the build Ready still fails the build",
        arguments: TestDatabase.kinds)
    func lateFailureFailsReadyBuild(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let build = try await store.makeBuild()
            _ = try await store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
            _ = try await store.finishCommit(buildID: build.id, outcome: .validating(checks: ["self"]))
            let check = try #require(try await store.checks(buildID: build.id).first)
            _ = try await store.setCheckStatus(
                jobID: check.jobID, status: .passed, results: nil, onlyIfPendingUnlessFailed: false)
            let readied = try await store.build(id: build.id)?.repoState

            // Act
            _ = try await store.setCheckStatus(
                jobID: check.jobID, status: .failed("exit 1"), results: nil, onlyIfPendingUnlessFailed: true)
            let after = try #require(try await store.build(id: build.id))

            // Assert
            #expect(readied == .ready)
            #expect(after.repoState == .failed)
            #expect(after.repoStateReason == "1 out of 1 checks failed (self)")
        }
    }
}
