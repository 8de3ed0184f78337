import FlatManagerCore
import Foundation
import Logging
import OSTree
import SystemPackage

/// The one static-delta queue of the server (server.md §5.4–5.7), shared by every update-repo job of every repo.
///
/// Requests are served in FIFO order by the local worker (`flatpak build-update-repo --generate-static-delta-*`
/// with `localCapacity` processes at most) while no remote worker is registered, and only by remote workers (a random
/// one with a free slot) as soon as one is. A request equal to a queued one shares its result. Requests of a worker
/// that goes away are put back at the front of the queue. Each assigned request gets `timeout`: a local process is
/// killed, a remote request is answered with an error (its worker's slot stays taken until the worker reports), so
/// one huge delta never stalls publishing.
/// Update-repo jobs find it in their `JobEnvironment`.
public actor DeltaGenerator {
    /// What a delta request ends with.
    public struct Outcome: Sendable, Equatable {
        /// `nil` on success, else why the delta is not there.
        public var error: String?
        /// `local` or the remote worker's id and peer name, for the server log.
        public var worker: String

        public init(error: String?, worker: String) {
            self.error = error
            self.worker = worker
        }
    }

    /// A connection's handle for sending assignments; returns false when the connection is already gone.
    public typealias Send = @Sendable (DeltaAssignment) -> Bool

    private struct Pending {
        var repo: String
        var path: FilePath
        var url: String
        var delta: Delta
        var waiters: [CheckedContinuation<Outcome, Never>] = []
        /// Counts assignments, so the timer of an earlier (re-queued) assignment does not end a later one.
        var assignment = 0
    }

    private struct RemoteWorker {
        var name: String
        var capacity: Int
        var busy = 0
        var registered = true
        var send: Send
        var nextRequestID: UInt32 = 1
        /// Request id → pending id; a request whose pending entry is gone (timed out) still holds its slot.
        var outstanding: [UInt32: Int] = [:]
    }

    private let localRunner: any CommandRunning
    private let localCapacity: Int
    private let timeout: Duration
    private let logger: Logger
    private var localBusy = 0
    private var queue: [Int] = []
    private var pending: [Int: Pending] = [:]
    private var nextPendingID = 1
    private var workers: [Int: RemoteWorker] = [:]
    private var nextWorkerID = 1
    /// Local generations by pending id, so that `stop()` can kill them.
    private var localTasks: [Int: Task<Void, Never>] = [:]
    private var stopped = false

    /// The error of every request that `stop()` ends.
    public static let stoppedError = "Delta generation stopped: the server is shutting down"

    /// `localRunner` should kill a command after `timeout` (the server gives it a `CommandRunner(timeout:)`).
    public init(localRunner: any CommandRunning, localCapacity: Int, timeout: Duration, logger: Logger) {
        self.localRunner = localRunner
        self.localCapacity = max(1, localCapacity)
        self.timeout = timeout
        self.logger = logger
    }

    // MARK: - Requests

    /// Queues a delta of the repo at `path` (public URL `url`) and waits for its outcome.
    public func generate(repo: String, path: FilePath, url: String, delta: Delta) async -> Outcome {
        if stopped { return Outcome(error: Self.stoppedError, worker: "nobody") }
        return await withCheckedContinuation { continuation in
            if let id = queue.first(where: { pending[$0]?.repo == repo && pending[$0]?.delta == delta }) {
                pending[id]?.waiters.append(continuation)
                return
            }
            let id = nextPendingID
            nextPendingID += 1
            pending[id] = Pending(repo: repo, path: path, url: url, delta: delta, waiters: [continuation])
            queue.append(id)
            assign()
        }
    }

    /// The assignment loop of server.md §5.4.
    private func assign() {
        guard !stopped else { return }
        while let id = queue.first, let request = pending[id] {
            let registered = workers.filter { $0.value.registered }
            if registered.isEmpty {
                guard localBusy < localCapacity else { return }
                queue.removeFirst()
                localBusy += 1
                startLocal(id, request)
            } else {
                guard let workerID = registered.filter({ $0.value.busy < $0.value.capacity }).keys.randomElement(),
                    var worker = workers[workerID]
                else { return }
                queue.removeFirst()
                let requestID = worker.nextRequestID
                // Wraps after 2^32 assignments on one connection instead of trapping; ids only need to differ
                // from the few outstanding ones.
                worker.nextRequestID &+= 1
                let assignment = DeltaAssignment(
                    id: requestID, url: request.url, repo: request.repo, delta: request.delta)
                guard worker.send(assignment) else {
                    // The connection is gone but has not told us yet: forget it, the request goes first again.
                    queue.insert(id, at: 0)
                    workerGone(workerID)
                    continue
                }
                worker.busy += 1
                worker.outstanding[requestID] = id
                workers[workerID] = worker
                pending[id]?.assignment += 1
                logger.info("Assigned delta \(request.delta) of \(request.repo) to worker \(workerID) (\(worker.name))")
                startTimer(
                    pendingID: id, assignment: request.assignment + 1,
                    description: "worker \(workerID) (\(worker.name))")
            }
        }
        // A pending entry without waiters cannot exist; an id without entry was resolved while queued.
        if let id = queue.first, pending[id] == nil {
            queue.removeFirst()
            assign()
        }
    }

    private func startLocal(_ id: Int, _ request: Pending) {
        let runner = localRunner
        // Unstructured: the generation outlives the job that asked first (equal requests share it), and `stop()`
        // cancels it, which kills the flatpak process.
        localTasks[id] = Task {
            let failure: String?
            do {
                _ = try await runner.run(
                    .flatpakGenerateDelta(repo: request.path, from: request.delta.from, to: request.delta.to))
                failure = nil
            } catch {
                failure = Task.isCancelled ? Self.stoppedError : "\(error)"
            }
            self.localFinished(id, error: failure)
        }
    }

    private func localFinished(_ id: Int, error: String?) {
        localTasks[id] = nil
        localBusy -= 1
        resolve(id, Outcome(error: error, worker: "local"))
        assign()
    }

    private func startTimer(pendingID: Int, assignment: Int, description: String) {
        let timeout = timeout
        Task {
            try? await Task.sleep(for: timeout)
            self.timedOut(pendingID, assignment: assignment, description: description)
        }
    }

    private func timedOut(_ id: Int, assignment: Int, description: String) {
        guard let request = pending[id], request.assignment == assignment, !queue.contains(id) else { return }
        let seconds = timeout.components.seconds
        resolve(id, Outcome(error: "Delta generation timed out after \(seconds) s", worker: description))
    }

    private func resolve(_ id: Int, _ outcome: Outcome) {
        guard let request = pending.removeValue(forKey: id) else { return }
        if let error = outcome.error {
            logger.info("Delta \(request.delta) of \(request.repo) failed on \(outcome.worker): \(error)")
        } else {
            logger.info("Delta \(request.delta) of \(request.repo) generated by \(outcome.worker)")
        }
        for waiter in request.waiters { waiter.resume(returning: outcome) }
    }

    // MARK: - Remote workers

    /// A worker sent `Register`; returns its id (remote workers count from 1, the local worker is 0).
    public func register(name: String, capacity: Int, send: @escaping Send) -> Int {
        let id = nextWorkerID
        nextWorkerID += 1
        workers[id] = RemoteWorker(name: name, capacity: max(0, capacity), send: send)
        logger.info("Delta worker \(id) (\(name)) registered with capacity \(capacity)")
        assign()
        return id
    }

    /// A worker sent `Unregister`: no new assignments, outstanding ones still complete.
    public func unregister(_ workerID: Int) {
        workers[workerID]?.registered = false
        logger.info("Delta worker \(workerID) unregistered")
        assign()
    }

    /// A worker sent `Finished`.
    public func finished(_ workerID: Int, requestID: UInt32, errmsg: String?) {
        guard var worker = workers[workerID], let id = worker.outstanding.removeValue(forKey: requestID) else {
            logger.warning("Delta worker \(workerID) finished unknown request \(requestID)")
            return
        }
        worker.busy -= 1
        workers[workerID] = worker
        let error = errmsg.map { "Remote worked id \(workerID) failed to generate delta: \($0)" }
        resolve(id, Outcome(error: error, worker: "worker \(workerID) (\(worker.name))"))
        assign()
    }

    /// The connection closed (or failed): its unanswered requests go back to the front of the queue.
    public func workerGone(_ workerID: Int) {
        guard let worker = workers.removeValue(forKey: workerID) else { return }
        let requeued = worker.outstanding.sorted { $0.key < $1.key }.map(\.value).filter { pending[$0] != nil }
        if stopped {
            for id in requeued { resolve(id, Outcome(error: Self.stoppedError, worker: "worker \(workerID)")) }
            logger.info("Delta worker \(workerID) (\(worker.name)) disconnected during the shutdown")
            return
        }
        queue.insert(contentsOf: requeued, at: 0)
        logger.info("Delta worker \(workerID) (\(worker.name)) disconnected, \(requeued.count) request(s) re-queued")
        assign()
    }

    // MARK: - Shutdown

    /// Stops the generator (server.md §3.7): queued and later requests fail at once, local generations are killed
    /// (their requests fail), and requests out with remote workers fail when their worker goes. Update-repo jobs
    /// waiting for deltas then finish without them instead of holding up the shutdown (upstream's wart: they may
    /// never finish); the next update-repo generates what is missing.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        let queued = queue
        queue.removeAll()
        logger.info("Stopping delta generation: \(queued.count) queued, \(localTasks.count) running locally")
        for id in queued { resolve(id, Outcome(error: Self.stoppedError, worker: "nobody")) }
        for task in localTasks.values { task.cancel() }
    }

    /// How many remote workers are registered (for tests and status).
    public var registeredWorkerCount: Int { workers.values.filter(\.registered).count }
}
