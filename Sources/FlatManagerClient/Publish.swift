import ArgumentParser

/// `publish BUILD_URL`: publishes a committed build (client.md A.7.4).
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "publish", abstract: "Publish a build.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait for the publish job.")
    var wait = false

    @Flag(name: .customLong("wait-update"), help: "Also wait for the repository update job.")
    var waitUpdate = false

    @Flag(
        name: .customLong("allow-downgrade"),
        help: "Publish even if a ref's uploaded commit is older than the current one (downgrade protection).")
    var allowDowngrade = false

    @Argument(help: "The build URL.")
    var buildURL: String

    func run() async throws {
        let build = URLs.trimmed(buildURL)
        try await Runner.run("publish", global) { session in
            let published = try await BuildActions(session: session, buildURL: build)
                .publish(wait: wait, waitUpdate: waitUpdate, allowDowngrade: allowDowngrade)
            return published.publishJob
        }
    }
}
