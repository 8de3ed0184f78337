import ArgumentParser
import Foundation

/// `flat-manager-client`: the upload client (client.md Part A, with the 0.5 improvements of Part B).
@main
struct FlatManagerClient: AsyncParsableCommand {
    // Every command names itself: a name ArgumentParser derives from the type (`String(describing:)`) costs the
    // client's start several milliseconds of protocol conformance look-ups (issue #13).
    static let configuration = CommandConfiguration(
        commandName: "flat-manager-client",
        abstract: "Upload builds to a flat-manager server, commit and publish them.",
        version: "flat-manager-client \(version)",
        subcommands: [
            Create.self, Push.self, Commit.self, Publish.self, Purge.self, FollowJob.self, CreateToken.self,
            Prune.self, Rollback.self, GenTokenCommand.self,
        ])

    /// The upstream release whose command line and output this client follows.
    static let version = "0.5.0-swift"

    @OptionGroup var global: GlobalOptions

    /// Parses like `AsyncParsableCommand.main()`, but usage errors exit with status 2 (argparse's code).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }

    func run() async throws {
        Console.line("No subcommand specified, see --help for usage")
        throw ExitCode.failure
    }
}

/// Options every subcommand accepts (client.md A.2).
struct GlobalOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Verbose output.")
    var verbose = false

    @Flag(help: "Debug output.")
    var debug = false

    @Option(help: "Write the result JSON to this file.")
    var output: String?

    @Flag(name: .customLong("print-output"), help: "Print the result JSON at the end.")
    var printOutput = false

    @Option(help: "The API token.")
    var token: String?

    @Option(name: .customLong("token-file"), help: "Read the API token from the first line of this file.")
    var tokenFile: String?
}
