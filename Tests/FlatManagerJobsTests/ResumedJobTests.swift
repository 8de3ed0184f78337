import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import Testing

/// Jobs resumed after an interruption that came after their final state change (issue #14): they report their
/// result without doing the work again; the real-tool cases (refs already committed or imported) are in the
/// integration tests (RestartTests, CrashCycleTests).
@Suite("Resumed jobs")
struct ResumedJobTests {
    /// A committed build with a publish job claimed, as a crash right after `finishPublish` leaves it once recovery
    /// has put the job back: the build Published, the update-repo job queued and recorded.
    private func publishedBeforeTheCrash(_ harness: JobHarness) async throws -> (Job, Int32) {
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        try await harness.drain(.global)
        guard case .done(let publish) = try await harness.store.beginPublish(buildID: build.id) else {
            throw StoreError.conflict("publish refused")
        }
        let update = try await harness.store.queueUpdateRepo(repo: "stable", startingJob: publish.id, delaySeconds: 0)
        try await harness.store.setCheckpoint(jobID: publish.id, step: "update-repo-job", value: "\(update.job.id)")
        _ = try await harness.store.finishPublish(buildID: build.id, failure: nil)
        // What the interrupted import left in the main repository.
        let ref = "\(harness.directory)/repo/refs/heads/app/org.test.Hello/x86_64/stable"
        try FileManager.default.createDirectory(
            atPath: (ref as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (String(repeating: "e", count: 64) + "\n").write(toFile: ref, atomically: true, encoding: .utf8)
        let claimed = try #require(
            try await harness.store.claimNextJob(
                queue: .repo("stable"), owner: "test:1:1", leaseSeconds: 60, allowConcurrent: false))
        return (claimed, update.job.id)
    }

    @Test("a publish job whose build it already published reports its result and imports nothing")
    func publishAlreadyDone() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let (job, updateID) = try await publishedBeforeTheCrash(harness)
        let commandsBefore = harness.runner.recorded.count

        // Act
        await harness.dispatcher.execute(job)

        // Assert
        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .ended, "\(finished.log)")
        #expect(finished.log.contains("The build was published before the interruption"))
        #expect(finished.results?.contains("\"update-repo-job\":\(updateID)") == true, "\(finished.results ?? "")")
        #expect(harness.runner.recorded.count == commandsBefore)
        let updates = try await harness.store.activeJobs().filter { $0.kind == .updateRepo }
        #expect(updates.map(\.id) == [updateID])
    }

    @Test("a commit job whose build it already made ready ends without committing again")
    func commitAlreadyDone() async throws {
        // Arrange: the commit ran to the end, then the job went back to Started as after a crash before its end.
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        guard
            case .done(let commit) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        else {
            Issue.record("commit refused")
            return
        }
        try await harness.drain(.global)
        let commandsBefore = harness.runner.recorded.count
        let rerun = try #require(try await harness.store.job(id: commit.id))

        // Act
        await harness.dispatcher.execute(rerun)

        // Assert
        let finished = try #require(try await harness.store.job(id: commit.id))
        #expect(finished.status == .ended, "\(finished.log)")
        #expect(finished.log.contains("The build was committed before the interruption"))
        #expect(harness.runner.recorded.count == commandsBefore)
        #expect(try await harness.store.build(id: build.id)?.repoState == .ready)
    }

    @Test("a commit job whose build it already failed ends broken with the recorded reason, running nothing")
    func commitAlreadyFailed() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        guard
            case .done(let commit) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        else {
            Issue.record("commit refused")
            return
        }
        _ = try await harness.store.finishCommit(buildID: build.id, outcome: .failed("Disk on fire"))
        let claimed = try #require(
            try await harness.store.claimNextJob(
                queue: .global, owner: "test:1:1", leaseSeconds: 60, allowConcurrent: true))

        // Act
        await harness.dispatcher.execute(claimed)

        // Assert
        let finished = try #require(try await harness.store.job(id: commit.id))
        #expect(finished.status == .broken)
        #expect(finished.results?.contains("Disk on fire") == true)
        #expect(harness.runner.recorded.isEmpty)
    }
}
