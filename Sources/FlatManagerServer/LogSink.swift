import Dispatch
import FlatManagerAPI
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where log lines go: appended to a buffer under a short lock and written to a file descriptor by a serial dispatch
/// queue of its own, so that a request never waits for a `write(2)` of its access-log line (issue 13). Lines keep
/// their order. The buffer is bounded: past `limit` bytes, the logging thread writes the buffer itself (back-pressure rather than
/// lost lines). Warnings and worse are written through at once, and `flush()` runs at exit, so nothing that
/// explains a stop is left in the buffer.
final class LogSink: Sendable {
    static let standardError = LogSink(descriptor: STDERR_FILENO)

    private struct State {
        var pending: [UInt8] = []
        /// The second and text `append(stamped:)` formatted last.
        var stampSecond = -1
        var stamp: [UInt8] = []
        /// Whether a drain is queued on `queue`.
        var scheduled = false
    }

    let descriptor: Int32
    let limit: Int
    private let state = Mutex(State())
    /// Held while a batch is taken and written: batches go out whole and in order, whoever writes them.
    private let writing = Mutex(())
    private let queue = DispatchQueue(label: "flat-manager.log-sink")

    /// How long lines wait for company before they are written (warnings and worse are written at once).
    static let gatherMilliseconds = 20

    init(descriptor: Int32, limit: Int = 1 << 20) {
        self.descriptor = descriptor
        self.limit = limit
    }

    /// Queues `line` (a complete line, newline included); `urgent` writes it, and everything before it, now.
    func append(_ line: String, urgent: Bool = false) {
        let (schedule, full) = state.withLock { state -> (Bool, Bool) in
            state.pending.append(contentsOf: line.utf8)
            let schedule = !state.scheduled
            state.scheduled = true
            return (schedule, state.pending.count >= limit)
        }
        if urgent || full { flush() }
        if schedule { scheduleFlush() }
    }

    private func scheduleFlush() {
        // A few milliseconds' delay gathers the lines of a busy server into one write and one wake-up of the
        // queue, instead of one of each per request.
        queue.asyncAfter(deadline: .now() + .milliseconds(Self.gatherMilliseconds)) { [self] in
            state.withLock { $0.scheduled = false }
            flush()
        }
    }

    /// Queues a line that `body` writes straight into the buffer after the current time as `format` writes it
    /// (formatted once per second): `body` writes through a cursor on `length` bytes of room (under the lock); a line
    /// that did not fit (`ByteCursor.overflowed`) is dropped whole, time stamp included.
    func append(
        stamped format: (time_t) -> String, length: Int, writing body: (inout ByteCursor) -> Void
    ) {
        let now = time(nil)
        let (schedule, full) = state.withLock { state -> (Bool, Bool) in
            if state.stampSecond != Int(now) {
                state.stampSecond = Int(now)
                state.stamp = Array(format(now).utf8)
            }
            let start = state.pending.count
            let room = state.stamp.count + max(length, 0)
            state.pending.append(contentsOf: repeatElement(0, count: room))
            let written = state.pending.withUnsafeMutableBytes { all -> Int in
                var cursor = ByteCursor(UnsafeMutableRawBufferPointer(rebasing: all[start...]))
                state.stamp.withUnsafeBytes { cursor.write($0) }
                body(&cursor)
                return cursor.overflowed ? 0 : cursor.count
            }
            state.pending.removeLast(room - written)
            let schedule = !state.scheduled
            state.scheduled = true
            return (schedule, state.pending.count >= limit)
        }
        if full { flush() }
        if schedule { scheduleFlush() }
    }

    /// Writes everything queued so far.
    func flush() {
        writing.withLock { _ in
            var batch: [UInt8] = []
            state.withLock { swap(&batch, &$0.pending) }
            write(batch)
        }
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }  // A closed or broken log descriptor: nothing better to do.
                offset += written
            }
        }
    }
}

/// `write(2)`, outside `LogSink` whose own `write` would shadow it.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
