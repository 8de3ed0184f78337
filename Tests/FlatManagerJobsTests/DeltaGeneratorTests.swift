import FlatManagerJobs
import Foundation
import Logging
import OSTree
import Synchronization
import SystemPackage
import Testing

/// A local runner whose delta commands wait until the test releases them, recording what was started.
final class GatedRunner: CommandRunning, Sendable {
    private let state = Mutex<(started: [Command], gates: [CheckedContinuation<Void, Never>])>(([], []))

    var started: [Command] { state.withLock { $0.started } }

    func run(_ command: Command) async throws -> CommandOutput {
        await withCheckedContinuation { continuation in
            state.withLock {
                $0.started.append(command)
                $0.gates.append(continuation)
            }
        }
        return CommandOutput(exitCode: 0, stdout: "", stderr: "")
    }

    /// Lets every started command finish.
    func releaseAll() {
        let gates = state.withLock { state in
            defer { state.gates = [] }
            return state.gates
        }
        for gate in gates { gate.resume() }
    }
}

/// Collects what the generator sends to a fake remote worker; `connected` false imitates a closed socket.
final class FakeConnection: Sendable {
    private let state = Mutex<(sent: [DeltaAssignment], connected: Bool)>(([], true))

    var sent: [DeltaAssignment] { state.withLock { $0.sent } }

    func disconnect() { state.withLock { $0.connected = false } }

    var send: DeltaGenerator.Send {
        { assignment in
            self.state.withLock { state in
                guard state.connected else { return false }
                state.sent.append(assignment)
                return true
            }
        }
    }
}

func poll(_ condition: () async -> Bool) async throws {
    for _ in 0..<500 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition never became true")
}

@Suite("Delta generator queue")
struct DeltaGeneratorTests {
    static let a = Delta(from: nil, to: String(repeating: "a", count: 64))
    static let b = Delta(from: String(repeating: "a", count: 64), to: String(repeating: "b", count: 64))

    func makeGenerator(_ runner: any CommandRunning, capacity: Int = 1, timeout: Duration = .seconds(60))
        -> DeltaGenerator
    {
        DeltaGenerator(localRunner: runner, localCapacity: capacity, timeout: timeout, logger: Logger(label: "test"))
    }

    @Test("without remote workers a request runs locally and equal queued requests share one run")
    func localGenerationSharesEqualQueuedRequests() async throws {
        // Arrange
        let runner = GatedRunner()
        let generator = makeGenerator(runner)

        // Act
        async let first = generator.generate(repo: "stable", path: "/r", url: "http://x/repo/stable", delta: Self.a)
        try await poll { runner.started.count == 1 }
        async let second = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.b)
        async let third = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.b)
        try await Task.sleep(for: .milliseconds(50))
        runner.releaseAll()
        try await poll { runner.started.count == 2 }
        runner.releaseAll()
        let outcomes = await [first, second, third]

        // Assert
        #expect(outcomes.map(\.error) == [nil, nil, nil])
        #expect(outcomes.map(\.worker) == ["local", "local", "local"])
        #expect(runner.started.count == 2)
        #expect(runner.started.last == .flatpakGenerateDelta(repo: "/r", from: Self.b.from, to: Self.b.to))
    }

    @Test("a registered remote worker gets the request with the repo URL, and its Finished resolves it")
    func remoteWorkerIsPreferredAndReportsTheResult() async throws {
        // Arrange
        let runner = GatedRunner()
        let generator = makeGenerator(runner)
        let connection = FakeConnection()
        let worker = await generator.register(name: "peer", capacity: 1, send: connection.send)

        // Act
        async let outcome = generator.generate(repo: "stable", path: "/r", url: "http://x/repo/stable", delta: Self.b)
        try await poll { connection.sent.count == 1 }
        await generator.finished(worker, requestID: 1, errmsg: "disk full")
        let result = await outcome

        // Assert
        #expect(connection.sent == [DeltaAssignment(id: 1, url: "http://x/repo/stable", repo: "stable", delta: Self.b)])
        #expect(result.error == "Remote worked id \(worker) failed to generate delta: disk full")
        #expect(runner.started.isEmpty)
    }

    @Test("the requests of a worker that disconnects are re-queued and then generated locally")
    func disconnectedWorkersRequestsFallBackToLocal() async throws {
        // Arrange
        let runner = GatedRunner()
        let generator = makeGenerator(runner)
        let connection = FakeConnection()
        let worker = await generator.register(name: "peer", capacity: 1, send: connection.send)

        // Act
        async let outcome = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)
        try await poll { connection.sent.count == 1 }
        connection.disconnect()
        await generator.workerGone(worker)
        try await poll { runner.started.count == 1 }
        runner.releaseAll()
        let result = await outcome

        // Assert
        #expect(result == DeltaGenerator.Outcome(error: nil, worker: "local"))
    }

    @Test("while a busy remote worker is registered, new requests wait for it instead of running locally")
    func busyRemoteWorkerBlocksLocalGeneration() async throws {
        // Arrange
        let runner = GatedRunner()
        let generator = makeGenerator(runner)
        let connection = FakeConnection()
        let worker = await generator.register(name: "peer", capacity: 1, send: connection.send)

        // Act
        async let first = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)
        async let second = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.b)
        try await poll { connection.sent.count == 1 }
        await generator.finished(worker, requestID: 1, errmsg: nil)
        try await poll { connection.sent.count == 2 }
        await generator.finished(worker, requestID: 2, errmsg: nil)
        let outcomes = await [first, second]

        // Assert
        #expect(outcomes.map(\.error) == [nil, nil])
        #expect(connection.sent.map(\.id) == [1, 2])
        #expect(runner.started.isEmpty)
    }

    @Test("a remote request that outlives the timeout is answered with an error")
    func remoteRequestTimesOut() async throws {
        // Arrange
        let generator = makeGenerator(GatedRunner(), timeout: .milliseconds(100))
        let connection = FakeConnection()
        _ = await generator.register(name: "peer", capacity: 1, send: connection.send)

        // Act
        let result = await generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)

        // Assert
        #expect(result.error?.contains("timed out") == true)
        #expect(connection.sent.count == 1)
    }

    @Test("stop fails queued requests, kills local generations and fails later requests at once")
    func stopEndsLocalAndQueuedRequests() async throws {
        // Arrange: one generation running locally (until cancelled), one request queued behind it.
        let runner = SleepingRunner()
        let generator = makeGenerator(runner)
        async let running = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)
        try await poll { runner.startedCount == 1 }
        async let queued = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.b)
        try await Task.sleep(for: .milliseconds(50))

        // Act
        await generator.stop()
        let outcomes = await [running, queued]
        let later = await generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)

        // Assert
        #expect(outcomes.map(\.error) == [DeltaGenerator.stoppedError, DeltaGenerator.stoppedError])
        #expect(later.error == DeltaGenerator.stoppedError)
        #expect(runner.startedCount == 1, "the queued request was never started")
        #expect(runner.cancelledCount == 1, "the running generation was cancelled (its process killed)")
    }

    @Test("after stop, the requests of a remote worker that goes away fail instead of being generated locally")
    func stopFailsRequestsOfADepartingWorker() async throws {
        // Arrange
        let runner = GatedRunner()
        let generator = makeGenerator(runner)
        let connection = FakeConnection()
        let worker = await generator.register(name: "peer", capacity: 1, send: connection.send)
        async let outcome = generator.generate(repo: "stable", path: "/r", url: "u", delta: Self.a)
        try await poll { connection.sent.count == 1 }

        // Act
        await generator.stop()
        connection.disconnect()
        await generator.workerGone(worker)
        let result = await outcome

        // Assert
        #expect(result.error == DeltaGenerator.stoppedError)
        #expect(runner.started.isEmpty)
    }
}

/// A local runner whose commands run until cancelled, counting starts and cancellations.
final class SleepingRunner: CommandRunning, Sendable {
    private let counts = Mutex<(started: Int, cancelled: Int)>((0, 0))

    var startedCount: Int { counts.withLock { $0.started } }
    var cancelledCount: Int { counts.withLock { $0.cancelled } }

    func run(_ command: Command) async throws -> CommandOutput {
        counts.withLock { $0.started += 1 }
        do {
            try await Task.sleep(for: .seconds(600))
        } catch {
            counts.withLock { $0.cancelled += 1 }
            throw error
        }
        return CommandOutput(exitCode: 0, stdout: "", stderr: "")
    }
}
