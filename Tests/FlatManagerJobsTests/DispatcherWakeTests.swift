import FlatManagerCore
import FlatManagerStore
import Foundation
import Testing

@testable import FlatManagerJobs

/// Ours (issue #13): a job queued in this process starts when its queue is kicked, not at the next poll.
@Suite("Dispatcher wake-ups")
struct DispatcherWakeTests {
    @Test("an idle worker whose poll is an hour away starts a job as soon as its queue is kicked")
    func kickWakesAnIdleWorker() async throws {
        // Arrange: a dispatcher that polls once an hour, idle (its first claim found nothing).
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let dispatcher = JobDispatcher(
            environment: harness.dispatcher.environment, owner: "test:2:2", pollInterval: .seconds(3600))
        let running = Task { try await dispatcher.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(300))

        // Act
        let (_, job) = try await harness.store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)
        dispatcher.jobCreated(job)

        // Assert: it ends within a minute (a liveness bound, not a speed figure), long before the next poll.
        var status = JobStatus.new
        for _ in 0..<600 where status != .ended && status != .broken {
            try await Task.sleep(for: .milliseconds(100))
            status = try await harness.store.job(id: job.id)?.status ?? .new
        }
        #expect(status == .ended)
    }
}
