import FlatManagerCore
import Foundation
import Testing

@testable import FlatManagerStore

/// The retention schedule in the database (issue #15 part 3): one prune per period, shared by several processes.
@Suite("Retention schedule")
struct RetentionScheduleTests {
    @Test(
        "two processes queue one prune per period; a waiting prune counts for its period; a rollback job is accepted",
        arguments: TestDatabase.kinds)
    func onePrunePerPeriod(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            // Arrange
            let start = Timestamp.now()

            // Act
            async let first = stores[0].queueScheduledPrune(repo: "stable", intervalSeconds: 60, now: start)
            async let second = stores[1].queueScheduledPrune(repo: "stable", intervalSeconds: 60, now: start)
            let concurrent = try await [first, second].compactMap { $0 }
            let withinPeriod = try await stores[0].queueScheduledPrune(
                repo: "stable", intervalSeconds: 60, now: start.adding(seconds: 30))
            let stillWaiting = try await stores[1].queueScheduledPrune(
                repo: "stable", intervalSeconds: 60, now: start.adding(seconds: 61))
            let prune = try #require(concurrent.first)
            try await stores[0].finishJob(id: prune.id, status: .ended, results: #"{"pruned":true}"#)
            let nextPeriod = try await stores[0].queueScheduledPrune(
                repo: "stable", intervalSeconds: 60, now: start.adding(seconds: 122))
            let rollback = try await stores[0].createJob(
                kind: .rollback, contents: .rollback(ref: "app/a.b/x86_64/stable", commit: "c"), repo: "stable",
                startAfter: nil)

            // Assert
            #expect(concurrent.count == 1)
            #expect(prune.kind == .prune && prune.repo == "stable")
            #expect(withinPeriod == nil)
            #expect(stillWaiting == nil)
            #expect(nextPeriod?.kind == .prune)
            #expect(try await stores[1].latestPruneResults() == ["stable": #"{"pruned":true}"#])
            #expect(rollback.kind == .rollback)
        }
    }
}
