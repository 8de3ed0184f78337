import FlatManagerCore
import Foundation
import NIOCore
import NIOHTTP1

/// Follows jobs and checks the way both reference clients do (client.md A.5, A.6), printing the framing lines.
struct JobFollower: Sendable {
    let api: API
    let pollScale: Double

    /// Polls `url` until the job ends; returns the ended job, throws `ClientError.job` when it failed.
    ///
    /// A 200 answer that is not a job counts as a failed poll, like any other unexpected answer.
    func follow(_ url: String) async throws -> Decoded<Job> {
        var printed = 0
        var oldStatus = JobStatus.new
        var quiet = 0
        var errors = 0
        var reportedDelay = false
        while true {
            let body = RequestBody.json(
                Data("{\"log-offset\":\(printed),\"wait-for-change\":\(Self.longPollSeconds)}".utf8))
            let answer = try await api.retry.run { try await api.send(.GET, url, body: body) }
            // A server of ours held the answer until something changed: ask again at once. Others ignore the member
            // and answer at once: poll at the reference clients' pace.
            let held = answer.headers[canonicalForm: JobLogRequest.longPollHeader].contains("1")
            if answer.status == 200, let job = try? answer.decode(Decoded<Job>.self, from: url) {
                errors = 0
                let status = job.value.status
                if status == .new, !reportedDelay {
                    reportedDelay = true
                    reportDelay(until: job.value.startAfter)
                }
                if status != .new, oldStatus == .new { Console.line("/ Job was started") }
                oldStatus = status
                let log = job.value.log
                if log.isEmpty {
                    quiet += 1
                } else {
                    Console.write(LogFramer.frame(log))
                    printed += log.utf8.count
                    quiet = 0
                }
                if status == .ended {
                    Console.line("\\ Job completed successfully")
                    return job
                }
                if status == .broken {
                    Console.line("\\ Job failed")
                    throw ClientError.job(job.json)
                }
            } else {
                quiet = 4
                errors += 1
                guard errors <= 5 else {
                    throw ClientError.api(url: url, status: answer.status, details: answer.errorDetails)
                }
                Console.line("Unexpected response \(answer.status) getting job log, ignoring")
            }
            if !held || errors > 0 {
                try await Task.sleep(for: .seconds(LogFramer.pollDelay(quietPolls: quiet) * pollScale))
            }
        }
    }

    /// How long a job GET asks our server to hold its answer (`wait-for-change`).
    static let longPollSeconds = 10

    /// Waits until the job at `url` changes status, at most `seconds`, where the server can hold the answer;
    /// elsewhere (an upstream server) simply sleeps `seconds`. Used while a build is committing. Returns whether the
    /// server said the job has ended (or failed).
    func waitForStatusChange(_ url: String, seconds: Double) async throws -> Bool {
        // An offset past any log: only a change of status ends the wait.
        let body = RequestBody.json(Data("{\"log-offset\":\(1 << 40),\"wait-for-change\":\(seconds)}".utf8))
        let answer = try? await api.send(.GET, url, body: body)
        guard let answer, answer.headers[canonicalForm: JobLogRequest.longPollHeader].contains("1") else {
            try await Task.sleep(for: .seconds(seconds * pollScale))
            return false
        }
        guard let job = try? answer.decode(Decoded<Job>.self, from: url) else { return false }
        return job.value.status == .ended || job.value.status == .broken
    }

    private func reportDelay(until startAfter: Timestamp?) {
        guard let seconds = startAfter?.secondsSinceEpoch else { return }
        // The server's number may be any Int64 (Core clamps it to years 1–9999): saturate rather than trap.
        let wait = seconds.saturatingSubtracting(Int64(Date().timeIntervalSince1970))
        if wait > 0 { Console.line("Waiting \(wait) seconds before starting job") }
    }

    /// Waits for the build's checks before its commit job is followed (A.6). A 404 on `/extended` means the
    /// server has no checks.
    ///
    /// While the build is committing, the reference clients sleep 2 s between looks; with the commit job's URL and a
    /// server of ours, each look follows the end of the commit job instead.
    func waitForChecks(buildURL: String, commitJobURL: String? = nil) async throws {
        Console.line("Waiting for checks, if any...")
        guard var extended = try await extended(buildURL) else { return }
        var jobEnded = false
        while extended.value.build.repoState == .committing {
            if let commitJobURL {
                // Our server moves the build on before it ends the job; should the build still say committing after
                // the job ended (another server), the next look waits a little rather than asking again at once.
                if jobEnded { try await Task.sleep(for: .milliseconds(100)) }
                jobEnded = try await waitForStatusChange(commitJobURL, seconds: 2)
            } else {
                try await Task.sleep(for: .seconds(2 * pollScale))
            }
            guard let next = try await self.extended(buildURL) else { return }
            extended = next
        }
        // Without checks the build's state just read is final: no second look (a request less on the way to the
        // publish).
        guard !extended.value.checks.isEmpty else { return }
        for check in extended.value.checks {
            Console.line("Waiting for check: \(check.checkName)")
            _ = try await follow("\(buildURL)/check/\(check.checkName)/job")
        }
        guard let final = try await self.extended(buildURL) else { return }
        for (check, json) in final.checks {
            guard case .failed = check.status else { continue }
            Console.line("\\ Check \(check.checkName) has failed")
            throw ClientError.job(json)
        }
    }

    private func extended(_ buildURL: String) async throws -> Decoded<ExtendedBuild>? {
        let url = buildURL + "/extended"
        do {
            return try await api.call(Decoded<ExtendedBuild>.self, .GET, url)
        } catch ClientError.api(_, 404, _) {
            return nil
        }
    }
}

extension Decoded<ExtendedBuild> {
    /// Each check with the JSON the server sent for it, which a failed check is reported with (`error.job`).
    var checks: [(check: Check, json: JSON)] {
        guard case .array(let checksJSON)? = json["checks"] else { return [] }
        return Array(zip(value.checks, checksJSON))
    }
}

extension JSON {
    /// A job as the results show it: `results` parsed from its JSON string (absent → `{}`) and `location` added.
    ///
    /// Works on the server's JSON rather than on Core's `Job`: the output shows the job as the server sent it.
    func jobResult(location: String?) -> JSON {
        var job = self
        let results = self["results"]?.stringValue.flatMap { JSON(data: Data($0.utf8)) } ?? .object([:])
        job = job.setting("results", results)
        if let location { job = job.setting("location", .string(location)) }
        return job
    }
}
