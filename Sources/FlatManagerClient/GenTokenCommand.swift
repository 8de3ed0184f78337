import ArgumentParser
import FlatManagerCLI
import FlatManagerCore
import Foundation

/// `gentoken` (0.5): mints a token signed with the server secret, without talking to a server (api.md §9.8).
/// Unlike 0.4.2's standalone binary, scopes are validated and the payload carries `jti` and `apps`.
struct GenTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gentoken", abstract: "Generate a token signed with the server secret.")

    /// `-v`/`--verbose` (shared with the other subcommands) first prints the claims as `Token: <JSON>`.
    @OptionGroup var global: GlobalOptions

    @OptionGroup var mint: TokenMintOptions

    func run() throws {
        let claims = mint.minter.claims(now: Date())
        if let unknown = claims.scope.first(where: { Scope(rawValue: $0) == nil }) {
            Console.error("Unknown scope '\(unknown)'")
            throw ExitCode.failure
        }
        let token: String
        do {
            token = try mint.sign(claims, style: .complete)
        } catch {
            Console.error(error.message)
            throw ExitCode.failure
        }
        if global.verbose { Console.line("Token: " + claims.payloadJSON(style: .complete)) }
        Console.line(token)
    }
}
