import ArgumentParser
import FlatManagerCore

/// `commit BUILD_URL`: commits an uploaded build and waits for its checks and commit job (client.md A.7.3).
struct Commit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commit", abstract: "Commit a build.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Wait for the commit job (always done; kept for compatibility).")
    var wait = false

    @Option(name: .customLong("end-of-life"), help: "Mark the build's refs end-of-life with this message.")
    var endOfLife: String?

    @Option(name: .customLong("end-of-life-rebase"), help: "The id that replaces the end-of-life app.")
    var endOfLifeRebase: String?

    @Option(name: .customLong("token-type"), help: "The token type the committed refs require.")
    var tokenType: Int32?

    @Argument(help: "The build URL.")
    var buildURL: String

    func run() async throws {
        let request = CommitRequest(endoflife: endOfLife, endoflifeRebase: endOfLifeRebase, tokenType: tokenType)
        let build = URLs.trimmed(buildURL)
        try await Runner.run("commit", global) { session in
            try await BuildActions(session: session, buildURL: build).commit(request)
        }
    }
}
