import ArgumentParser
import FlatManagerCLI
import FlatManagerCore
import Foundation

/// `gentoken`: mints an HS256 token with 0.4.2's defaults and claim order (api.md §9.8), plus 0.5's `--jti`.
@main
struct GenToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gentoken", abstract: "Generate a flat-manager token signed with the server secret.")

    @Flag(name: [.short, .long], help: "First print the claims as 'Token: <JSON>'.")
    var verbose = false

    @OptionGroup var mint: TokenMintOptions

    /// Parses like `ParsableCommand.main()`, but usage errors exit with status 2 as upstream's clap does.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }

    func run() throws {
        do {
            let claims = mint.minter.claims(now: Date())
            let token = try mint.sign(claims, style: .gentoken)
            if verbose { print("Token: " + claims.payloadJSON(style: .gentoken)) }
            print(token)
        } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode.failure
        }
    }
}
