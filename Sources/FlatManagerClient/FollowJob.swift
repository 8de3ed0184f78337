import ArgumentParser

/// `follow-job JOB_URL`: prints a job's log until it ends (client.md A.7.7).
struct FollowJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "follow-job", abstract: "Follow a job's log.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The job URL, e.g. http://127.0.0.1:8080/api/v1/job/7.")
    var jobURL: String

    func run() async throws {
        try await Runner.run("follow-job", global) { session in
            // The result is the ended job as the server sent it (results not parsed, as 0.4.2 printed it).
            try await session.follower.follow(jobURL).json
        }
    }
}
