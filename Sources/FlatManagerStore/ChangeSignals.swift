import Synchronization

/// In-process wake-ups keyed by what changed (a job, a queue): whoever changes something signals its key, and a task
/// waiting for that key resumes at once instead of at its next poll.
///
/// A signal is only a hint to look again: it carries no data, it is never lost between a look and the wait that
/// follows it (the waiter passes the generation it read before looking), and a spurious one is harmless. Changes made
/// by another process are not signalled, so waiters keep a polling fallback.
public final class ChangeSignals<Key: Hashable & Sendable>: Sendable {
    private struct Waiter {
        let key: Key
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var generations: [Key: UInt64] = [:]
        var waiters: [Int: Waiter] = [:]
        var nextToken = 0
    }

    private let state = Mutex(State())
    /// Maps a key onto the one the signals are kept under; keys that share one wake each other's waiters, which
    /// bounds the memory kept for keys without number (job ids).
    private let bucket: @Sendable (Key) -> Key

    public init(bucket: @escaping @Sendable (Key) -> Key = { $0 }) {
        self.bucket = bucket
    }

    /// The number of signals `key` has had; read it before looking at the thing, pass it to `wait`.
    public func generation(of key: Key) -> UInt64 {
        let key = bucket(key)
        return state.withLock { $0.generations[key, default: 0] }
    }

    /// Records a change of `key` and resumes every task waiting for it.
    public func signal(_ key: Key) {
        let key = bucket(key)
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[key, default: 0] &+= 1
            let tokens = state.waiters.filter { $0.value.key == key }.map(\.key)
            return tokens.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when `key` was signalled after `generation` was read, when `timeout` is over, or when the task is
    /// cancelled, whichever comes first; true when a signal came.
    @discardableResult
    public func wait(for key: Key, after generation: UInt64, timeout: Duration) async -> Bool {
        let key = bucket(key)
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitForSignal(key, after: generation) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first && self.generation(of: key) != generation
        }
    }

    /// Suspends until `key` is signalled past `generation`, or the task is cancelled.
    private func waitForSignal(_ key: Key, after generation: UInt64) async -> Bool {
        let token = state.withLock { state -> Int in
            state.nextToken &+= 1
            return state.nextToken
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generations[key, default: 0] != generation || Task.isCancelled { return true }
                    state.waiters[token] = Waiter(key: key, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: token) }
            waiter?.continuation.resume()
        }
        return true
    }
}
