import FlatManagerCore
import Foundation
import NIOCore
import NIOHTTP1

/// Follows jobs and checks the way both reference clients do (client.md A.5, A.6), printing the framing lines.
struct JobFollower: Sendable {
    let api: API
    let pollScale: Double

    /// Polls `url` until the job ends; returns the ended job, throws `ClientError.job` when it failed.
    func follow(_ url: String) async throws -> JSON {
        var printed = 0
        var oldStatus: Int64 = 0
        var quiet = 0
        var errors = 0
        var reportedDelay = false
        while true {
            let body = RequestBody.json(Data("{\"log-offset\":\(printed)}".utf8))
            let answer = try await api.retry.run { try await api.send(.GET, url, body: body) }
            if answer.status == 200, let job = answer.json {
                errors = 0
                let status = job["status"]?.intValue ?? 0
                if status == 0, !reportedDelay {
                    reportedDelay = true
                    reportDelay(of: job)
                }
                if status > 0, oldStatus == 0 { Console.line("/ Job was started") }
                oldStatus = status
                let log = job["log"]?.stringValue ?? ""
                if log.isEmpty {
                    quiet += 1
                } else {
                    Console.write(LogFramer.frame(log))
                    printed += log.utf8.count
                    quiet = 0
                }
                if status == 2 {
                    Console.line("\\ Job completed successfully")
                    return job
                }
                if status == 3 {
                    Console.line("\\ Job failed")
                    throw ClientError.job(job)
                }
            } else {
                quiet = 4
                errors += 1
                guard errors <= 5 else {
                    throw ClientError.api(url: url, status: answer.status, details: answer.errorDetails)
                }
                Console.line("Unexpected response \(answer.status) getting job log, ignoring")
            }
            try await Task.sleep(for: .seconds(LogFramer.pollDelay(quietPolls: quiet) * pollScale))
        }
    }

    private func reportDelay(of job: JSON) {
        guard let seconds = job["start_after"]?["secs_since_epoch"]?.intValue else { return }
        // The server's number may be any Int64: saturate rather than trap on a nonsensical one.
        let wait = seconds.saturatingSubtracting(Int64(Date().timeIntervalSince1970))
        if wait > 0 { Console.line("Waiting \(wait) seconds before starting job") }
    }

    /// Waits for the build's checks before its commit job is followed (A.6). A 404 on `/extended` means the
    /// server has no checks.
    func waitForChecks(buildURL: String) async throws {
        Console.line("Waiting for checks, if any...")
        guard var extended = try await extended(buildURL) else { return }
        while extended["build"]?["repo_state"]?.intValue == 1 {
            try await Task.sleep(for: .seconds(2 * pollScale))
            guard let next = try await self.extended(buildURL) else { return }
            extended = next
        }
        for check in Self.checks(extended) {
            let name = check["check_name"]?.stringValue ?? ""
            Console.line("Waiting for check: \(name)")
            _ = try await follow("\(buildURL)/check/\(name)/job")
        }
        guard let final = try await self.extended(buildURL) else { return }
        for check in Self.checks(final) where check["status"]?.intValue == 3 {
            Console.line("\\ Check \(check["check_name"]?.stringValue ?? "") has failed")
            throw ClientError.job(check)
        }
    }

    private static func checks(_ extended: JSON) -> [JSON] {
        guard case .array(let checks) = extended["checks"] else { return [] }
        return checks
    }

    private func extended(_ buildURL: String) async throws -> JSON? {
        let url = buildURL + "/extended"
        do {
            return try await api.call(.GET, url).json
        } catch ClientError.api(_, 404, _) {
            return nil
        }
    }
}

extension JSON {
    /// A job as the results show it: `results` parsed from its JSON string (absent → `{}`) and `location` added.
    func jobResult(location: String?) -> JSON {
        var job = self
        let results = self["results"]?.stringValue.flatMap { JSON(data: Data($0.utf8)) } ?? .object([:])
        job = job.setting("results", results)
        if let location { job = job.setting("location", .string(location)) }
        return job
    }

    /// The parsed `results` of a job whose `results` is still a string.
    var parsedResults: JSON {
        self["results"]?.stringValue.flatMap { JSON(data: Data($0.utf8)) } ?? .object([:])
    }
}
