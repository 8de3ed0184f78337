import ArgumentParser
import FlatManagerCore
import Foundation
import NIOHTTP1

/// `rollback REPO_URL REF COMMIT` (ours, issue #15): makes the content of an earlier commit of a ref current again,
/// as a new commit on top, and optionally follows the job and the repository update it queued.
struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Make an earlier commit of a ref current again (as a new commit).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait for the rollback job.")
    var wait = false

    @Flag(name: .customLong("wait-update"), help: "Also wait for the repository update job.")
    var waitUpdate = false

    @Argument(help: "The repository URL, e.g. http://127.0.0.1:8080/api/v1/repo/stable.")
    var repoURL: String

    @Argument(help: "The ref, e.g. app/org.example.App/x86_64/stable.")
    var ref: String

    @Argument(help: "The earlier commit of the ref whose content becomes current again.")
    var commit: String

    func run() async throws {
        let url = URLs.trimmed(repoURL) + "/rollback"
        let body = try JSONEncoder().encode(RollbackRequest(ref: ref, commit: commit))
        try await Runner.run("rollback", global) { session in
            // Not retried: a repeated POST after the server acted would roll back twice.
            let (job, answer) = try await session.api.call(.POST, url, body: .json(body), retrying: false)
            let location = answer.headers.first(name: "Location")
            guard wait || waitUpdate, let location else { return job.jobResult(location: location) }
            Console.line("Waiting for rollback job")
            let ended = try await session.follower.follow(location)
            guard waitUpdate, let updateID = PublishResults(of: ended.value)?.updateRepoJob else {
                return ended.json.jobResult(location: location)
            }
            Console.line("Waiting for repo update job \(updateID)")
            let updateURL = URLs.join(location, "\(updateID)")
            _ = try await session.follower.follow(updateURL)
            return ended.json.jobResult(location: location)
        }
    }
}
