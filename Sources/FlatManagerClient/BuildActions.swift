import FlatManagerCore
import Foundation
import NIOHTTP1

/// The commit and publish helpers shared by `push`, `commit` and `publish` (client.md A.7.3, A.7.4).
struct BuildActions: Sendable {
    let session: Session
    /// The build URL without trailing slash.
    let buildURL: String

    var api: API { session.api }
    var follower: JobFollower { session.follower }

    /// Starts the commit job, waits for the checks and follows the job; returns the job with parsed results.
    func commit(_ request: CommitRequest, announce: Bool = true) async throws -> JSON {
        if announce { Console.line("Committing build \(buildURL)") }
        let body = try JSONEncoder().encode(request)
        let started = try await startJob(buildURL + "/commit", body: body, jobID: { $0.commitJobID })
        Console.line("Waiting for commit job")
        try await follower.waitForChecks(buildURL: buildURL, commitJobURL: started.location)
        let job = try await follower.follow(started.location)
        return job.json.jobResult(location: started.location)
    }

    /// What a publish ended with: the publish job (empty object when it was already done) and the update job.
    struct Published: Sendable {
        var publishJob: JSON
        var updateJob: JSON?
    }

    /// Starts the publish job, optionally follows it and the repository update job it queued.
    /// `allowDowngrade` (ours) sends `{"allow-downgrade":true}`; otherwise the body is upstream's `{}`.
    func publish(wait: Bool, waitUpdate: Bool, allowDowngrade: Bool = false) async throws -> Published {
        Console.line("Publishing build \(buildURL)")
        let started: StartedJob
        let body = allowDowngrade ? Data(#"{"allow-downgrade":true}"#.utf8) : Data("{}".utf8)
        do {
            started = try await startJob(buildURL + "/publish", body: body, jobID: { $0.publishJobID })
        } catch ClientError.api(let url, 400, let details) {
            return try Self.publishRefused(url: url, details: details)
        }
        guard wait || waitUpdate else {
            return Published(publishJob: started.job.jobResult(location: started.location))
        }
        Console.line("Waiting for publish job")
        let job = try await follower.follow(started.location)
        var published = Published(publishJob: job.json.jobResult(location: started.location))
        guard let updateID = PublishResults(of: job.value)?.updateRepoJob else { return published }
        Console.line("Queued repo update job \(updateID)")
        let updateURL = URLs.job(updateID, buildURL: buildURL)
        let update: JSON
        if waitUpdate {
            Console.line("Waiting for repo update job")
            update = try await follower.follow(updateURL).json
        } else {
            // Passed through to the output as the server sent it; the client reads nothing of it.
            update = try await api.call(.GET, updateURL, body: .json(Data("{}".utf8))).json
        }
        published.updateJob = update.jobResult(location: updateURL)
        return published
    }

    /// A publish answered 400: already published, publishing or held for review is success; anything else fails.
    static func publishRefused(url: String, details: JSON) throws -> Published {
        let done = Published(publishJob: .object([:]))
        switch ErrorBody(details: details)?.currentState {
        case "published":
            Console.line("the build has been already published")
            return done
        case "publishing":
            Console.line("the build is already being published")
            return done
        case "validating":
            Console.line("the build is still being validated or held for review")
            return done
        case "failed":
            Console.line("the build has failed")
        default:
            break
        }
        throw ClientError.api(url: url, status: 400, details: details)
    }

    /// A job the server accepted: where to follow it and the job JSON it answered with (passed through to the
    /// output as the server sent it when the job is not followed; the client reads nothing of it).
    struct StartedJob: Sendable {
        var location: String
        var job: JSON
    }

    /// POSTs a request that starts a job. A retry after a transient failure first reads the build: if the job
    /// exists by then, the server acted on the earlier attempt and the POST is not repeated.
    func startJob(_ url: String, body: Data, jobID: @escaping @Sendable (Build) -> Int32?) async throws -> StartedJob {
        try await api.retry.runAttempts { attempt in
            if attempt > 0, let existing = try await existingJob(jobID: jobID, location: url) {
                return existing
            }
            let answer = try await api.send(.POST, url, body: .json(body))
            guard answer.status == 200 else {
                throw ClientError.api(url: url, status: answer.status, details: answer.errorDetails)
            }
            guard let location = answer.headers.first(name: "Location") else {
                throw ClientError.usage("No Location header in the answer from \(url)")
            }
            return StartedJob(location: location, job: answer.json ?? .object([:]))
        }
    }

    private func existingJob(jobID: (Build) -> Int32?, location: String) async throws -> StartedJob? {
        let build = try await api.call(.GET, buildURL, retrying: false).answer.decode(Build.self, from: buildURL)
        guard jobID(build) != nil else { return nil }
        let job = try await api.call(.GET, location, body: .json(Data("{}".utf8)), retrying: false).json
        return StartedJob(location: location, job: job)
    }
}
