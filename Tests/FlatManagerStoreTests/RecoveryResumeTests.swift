import FlatManagerCore
import Foundation
import SQLKit
import Testing

@testable import FlatManagerStore

/// Recovery with resumes (issue #14): interrupted jobs go back to New up to `maxResumes` times, then break as
/// upstream's; purges are reset only when their owner is dead; the cleanup sweep's bookkeeping.
@Suite("Recovery resumes interrupted jobs")
struct RecoveryResumeTests {
    static let dead = "deadhost:1:1"
    static let alive = "livehost:2:2"

    /// A committing build whose commit job `owner` claimed, and a publishing one whose publish job it claimed.
    private func interruptedCommitAndPublish(_ store: Store, owner: String) async throws -> (Build, Job, Build, Job) {
        let committing = try await store.makeBuild()
        _ = try await store.beginCommit(
            buildID: committing.id,
            contents: .commit(build: committing.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        let commitJob = try #require(
            try await store.claimNextJob(queue: .global, owner: owner, leaseSeconds: 60, allowConcurrent: true))
        var ready = try await store.makeBuild(repo: "beta")
        ready.repoState = .ready
        try await store.force(ready)
        _ = try await store.beginPublish(buildID: ready.id)
        let publishJob = try #require(
            try await store.claimNextJob(queue: .repo("beta"), owner: owner, leaseSeconds: 60, allowConcurrent: false))
        return (committing, commitJob, ready, publishJob)
    }

    @Test(
        "A job of a dead owner goes back to New with a log line; its build keeps its state",
        arguments: TestDatabase.kinds)
    func resumesInterruptedJobs(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let (committing, commitJob, publishing, publishJob) = try await interruptedCommitAndPublish(
                store, owner: Self.dead)
            let update = try await store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)
            _ = try await store.claimNextJob(
                queue: .repo("stable"), owner: Self.alive, leaseSeconds: -10, allowConcurrent: false)

            // Act
            let repos = try await store.recoverInterruptedJobs(
                owner: "me:3:3", isOwnerAlive: { $0 == Self.alive }, maxResumes: 3)

            // Assert
            for job in [commitJob, publishJob, update.job] {
                let read = try #require(try await store.job(id: job.id))
                #expect(read.status == .new)
                #expect(read.log.contains("Resuming job after an interruption"), "\(read.log)")
                #expect(try await store.resumeCount(jobID: job.id) == 1)
            }
            #expect(try await store.build(id: committing.id)?.repoState == .committing)
            #expect(try await store.build(id: publishing.id)?.publishedState == .publishing)
            #expect(Set(repos) == ["beta", "stable"])
            // No second update job: the interrupted one runs again.
            let updates = try await store.activeJobs().filter { $0.kind == .updateRepo }
            #expect(updates.map(\.id) == [update.job.id])
            // The resumed job is claimable again.
            let again = try await store.claimNextJob(
                queue: .global, owner: "me:3:3", leaseSeconds: 60, allowConcurrent: true)
            #expect(again?.id == commitJob.id)
        }
    }

    @Test("A job interrupted more than maxResumes times is broken, failing its build", arguments: TestDatabase.kinds)
    func breaksAfterMaxResumes(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange: interrupted, resumed twice, then interrupted once more.
            let (committing, commitJob, _, _) = try await interruptedCommitAndPublish(store, owner: Self.dead)
            var states: [JobStatus] = []
            for _ in 0..<3 {
                _ = try await store.recoverInterruptedJobs(owner: "me:3:3", isOwnerAlive: { _ in false }, maxResumes: 2)
                states.append(try #require(try await store.job(id: commitJob.id)).status)
                _ = try await store.claimNextJob(
                    queue: .global, owner: Self.dead, leaseSeconds: 60, allowConcurrent: true)
            }

            // Assert
            #expect(states == [.new, .new, .broken])
            let build = try await store.build(id: committing.id)
            #expect(build?.repoState == .failed)
            #expect(build?.repoStateReason == Store.restartedDuringJobReason)
            let log = try #require(try await store.job(id: commitJob.id)).log
            #expect(log.contains("Job broken: interrupted"), "\(log)")
            #expect(log.contains("after 2 resumes"), "\(log)")
        }
    }

    @Test("A running job of a live owner with a valid lease is left alone", arguments: TestDatabase.kinds)
    func liveJobsUntouched(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let (_, commitJob, _, publishJob) = try await interruptedCommitAndPublish(store, owner: Self.alive)

            _ = try await store.recoverInterruptedJobs(owner: "me:3:3", isOwnerAlive: { $0 == Self.alive })

            #expect(try await store.job(id: commitJob.id)?.status == .started)
            #expect(try await store.job(id: publishJob.id)?.status == .started)
            #expect(try await store.resumeCount(jobID: commitJob.id) == 0)
        }
    }

    @Test("Purging builds: reset when the owner is dead, kept while it lives", arguments: TestDatabase.kinds)
    func purgesOfLiveOwnersSurvive(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange: one purge by a live process, one by a dead one, one by this process, one without a record.
            var builds: [Build] = []
            for owner in [Self.alive, Self.dead, Store.purgeOwner] {
                let build = try await store.makeBuild()
                _ = try await store.beginPurge(buildID: build.id, owner: owner)
                builds.append(build)
            }
            var legacy = try await store.makeBuild()
            legacy.repoState = .purging
            try await store.force(legacy)

            // Act: the periodic recovery (no reset of unowned purges), then a start-up one.
            _ = try await store.recoverInterruptedJobs(
                owner: "me:3:3", isOwnerAlive: { $0 == Self.alive }, resetPurgingBuilds: false)
            var periodic: [RepoState] = []
            for build in builds + [legacy] {
                periodic.append(try #require(try await store.build(id: build.id)).repoState)
            }
            _ = try await store.recoverInterruptedJobs(owner: "me:3:3", isOwnerAlive: { $0 == Self.alive })
            let legacyAfterStart = try await store.build(id: legacy.id)

            // Assert
            #expect(periodic == [.purging, .failed, .purging, .purging])
            #expect(legacyAfterStart?.repoState == .failed)
            #expect(try await store.build(id: builds[0].id)?.repoState == .purging)
            // The live purge still finishes.
            let purged = try await store.finishPurge(buildID: builds[0].id, failure: nil)
            #expect(purged.repoState == .purged)
        }
    }

    @Test(
        "The cleanup sweep's candidates: failed and purged builds without running jobs, once",
        arguments: TestDatabase.kinds)
    func cleanupCandidates(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            var failed = try await store.makeBuild()
            failed.repoState = .failed
            try await store.force(failed)
            var purged = try await store.makeBuild()
            purged.repoState = .purged
            try await store.force(purged)
            let uploading = try await store.makeBuild()
            var publishing = try await store.makeBuild()
            publishing.repoState = .ready
            try await store.force(publishing)
            _ = try await store.beginPublish(buildID: publishing.id)
            // A publish failure marked by a previous run while its job is still queued: not yet.
            publishing = try #require(try await store.build(id: publishing.id))
            publishing.publishedState = .failed
            try await store.force(publishing)
            let first = Timestamp(microsecondsSinceEpoch: 1_000_000_000_000)
            let later = first.adding(seconds: 3600)

            // Act
            let seen = try await store.cleanupCandidates(now: first)
            let seenAgain = try await store.cleanupCandidates(now: later)
            try await store.markCleanedUp(buildID: failed.id, at: later)
            let afterRemoval = try await store.cleanupCandidates(now: later)

            // Assert
            #expect(seen.map(\.buildID) == [failed.id, purged.id])
            #expect(seenAgain.map(\.seen) == [first, first])
            #expect(afterRemoval.map(\.buildID) == [purged.id])
            #expect(!seen.map(\.buildID).contains(uploading.id))
        }
    }
}
