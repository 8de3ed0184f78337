import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird

/// Answers job GETs, holding the answer when the client asks for it (ours, `wait-for-change`): until the job's log
/// grows past the client's offset, its status changes, or the wait is over. A client following a job then learns of
/// each line and of the end within milliseconds instead of after its next poll, which upstream clients space 1 to 60
/// seconds apart. A change this process's store makes wakes the wait at once (`Store.jobSignals`); the job is also
/// looked at every `step` (its status and log length only), which sees changes made by another server process on
/// the same database.
struct JobWaiting: Sendable {
    let store: Store
    var step: Duration = .milliseconds(20)

    func answer(jobID: Int32, _ asked: JobLogRequest) async throws -> Response {
        guard var job = try await store.job(id: jobID) else { throw APIError.notFound }
        var held = false
        if let seconds = asked.waitForChange, seconds > 0 {
            held = true
            let wait = Duration.milliseconds(Int64(min(seconds, JobLogRequest.maximumWait) * 1000))
            if try await waitForChange(of: job, offset: asked.logOffset ?? 0, upTo: wait) {
                job = try await store.job(id: jobID) ?? job
            }
        }
        var response = try JSONResponse.make(job.withLog(fromByteOffset: asked.logOffset))
        if held, let name = HTTPField.Name(JobLogRequest.longPollHeader) { response.headers[name] = "1" }
        return response
    }

    /// Whether the job changed (log past `offset`, another status) within `wait`; returns at once when the job has
    /// already ended or already has news for the client.
    func waitForChange(of job: Job, offset: Int, upTo wait: Duration) async throws -> Bool {
        let status = job.status
        guard status == .new || status == .started, job.log.utf8.count <= offset else { return false }
        let signals = store.jobSignals
        let start = ContinuousClock.now
        let deadline = start + wait
        // The generation is read before each look, so a change between the look and the wait ends the wait at once.
        var seen = signals.generation(of: job.id)
        while ContinuousClock.now < deadline {
            // Quick looks while a change is likely soon (a job's next line, a short job's end), then calmer ones.
            let pause = min(ContinuousClock.now - start < .seconds(2) ? step : step * 5, deadline - ContinuousClock.now)
            await signals.wait(for: job.id, after: seen, timeout: pause)
            try Task.checkCancellation()
            seen = signals.generation(of: job.id)
            guard let progress = try await store.jobProgress(id: job.id) else { return true }
            if progress.status != status || progress.logBytes > offset { return true }
        }
        return false
    }
}
