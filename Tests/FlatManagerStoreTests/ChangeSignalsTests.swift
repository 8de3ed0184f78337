import FlatManagerCore
import FlatManagerStore
import Testing

/// In-process wake-ups (issue #13): a waiter resumes on a signal of its key, never misses one that came after it read
/// the generation, and otherwise waits until its timeout.
@Suite("Change signals")
struct ChangeSignalsTests {
    @Test("a signal of the key wakes a waiter long before its timeout")
    func signalWakesTheWaiter() async throws {
        // Arrange
        let signals = ChangeSignals<Int32>()
        let seen = signals.generation(of: 7)
        let waiter = Task { await signals.wait(for: 7, after: seen, timeout: .seconds(3600)) }

        // Act: signal until the waiter has returned (it may not be waiting yet when the first signal comes).
        var woke: Bool?
        let signaller = Task {
            while !Task.isCancelled {
                signals.signal(7)
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        woke = await waiter.value
        signaller.cancel()

        // Assert
        #expect(woke == true)
        #expect(signals.generation(of: 7) != seen)
    }

    @Test("a signal between reading the generation and waiting is not lost")
    func signalBeforeTheWaitIsSeen() async {
        let signals = ChangeSignals<String>()
        let seen = signals.generation(of: "global")
        signals.signal("global")

        let woke = await signals.wait(for: "global", after: seen, timeout: .seconds(3600))

        #expect(woke)
    }

    @Test("a signal of another key does not wake the waiter, which returns false at its timeout")
    func otherKeysDoNotWake() async {
        let signals = ChangeSignals<Int32>()
        let seen = signals.generation(of: 1)
        signals.signal(2)

        let woke = await signals.wait(for: 1, after: seen, timeout: .milliseconds(50))

        #expect(!woke)
        #expect(signals.generation(of: 1) == seen)
    }

    @Test("keys in one bucket share their signals")
    func bucketsShareSignals() async {
        let signals = ChangeSignals<Int32>(bucket: { $0 & 63 })
        let seen = signals.generation(of: 1)
        signals.signal(65)

        let woke = await signals.wait(for: 1, after: seen, timeout: .seconds(3600))

        #expect(woke)
    }

    @Test("a cancelled waiter returns at once without a signal")
    func cancellationEndsTheWait() async {
        let signals = ChangeSignals<Int32>()
        let waiter = Task { await signals.wait(for: 3, after: signals.generation(of: 3), timeout: .seconds(3600)) }

        waiter.cancel()

        #expect(await waiter.value == false)
    }

    @Test(
        "the store signals a job's id when it claims the job, appends to its log and finishes it",
        arguments: TestDatabase.kinds)
    func storeSignalsJobChanges(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let job = try await store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
            var generation = store.jobSignals.generation(of: job.id)

            let claimed = try #require(
                try await store.claimNextJobLease(
                    queue: .repo("stable"), owner: "me:1:1", leaseSeconds: 60, allowConcurrent: true))
            #expect(store.jobSignals.generation(of: job.id) != generation, "claimed")
            generation = store.jobSignals.generation(of: job.id)
            try await store.appendJobLog(id: job.id, text: "a line\n", lease: claimed.lease)
            #expect(store.jobSignals.generation(of: job.id) != generation, "logged")
            generation = store.jobSignals.generation(of: job.id)
            try await store.finishJob(id: job.id, status: .ended, results: "{}", lease: claimed.lease)
            #expect(store.jobSignals.generation(of: job.id) != generation, "finished")
        }
    }
}
