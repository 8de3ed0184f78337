import ArgumentParser
import FlatManagerCore
import Foundation

/// `gentoken` (0.5): mints a token signed with the server secret, without talking to a server (api.md §9.8).
/// Unlike 0.4.2's standalone binary, scopes are validated and the payload carries `jti` and `apps`.
struct GenTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gentoken", abstract: "Generate a token signed with the server secret.")

    /// `-v`/`--verbose` (shared with the other subcommands) first prints the claims as `Token: <JSON>`.
    @OptionGroup var global: GlobalOptions

    @Option(help: "The name claim.")
    var name = "default"

    @Option(help: "The sub claim.")
    var sub = "build"

    @Option(parsing: .upToNextOption, help: "Scopes (default: build upload download publish jobs).")
    var scope: [String] = []

    @Option(parsing: .upToNextOption, help: "Allowed app id prefixes (default: all).")
    var prefix: [String] = []

    @Option(parsing: .upToNextOption, help: "Allowed repositories (default: all).")
    var repo: [String] = []

    @Option(parsing: .upToNextOption, help: "Branches recorded on builds (default: stable).")
    var branch: [String] = []

    @Option(name: .customLong("token-type"), help: "The token_type claim.")
    var tokenType = "app"

    @Option(help: "Validity in seconds from now.")
    var duration: Int64 = 31_536_000

    @Option(help: "Token id for revocation tracking.")
    var jti: String?

    @Option(help: "The secret text.")
    var secret: String?

    @Option(name: .customLong("secret-file"), help: "Read the secret from this file ('-' = standard input).")
    var secretFile: String?

    @Flag(name: .customLong("base64"), help: "The secret text is standard base64 of the key.")
    var base64 = false

    func run() throws {
        let minter = TokenMinter(
            name: name, sub: sub, scope: scope, prefixes: prefix, repos: repo, branches: branch,
            tokenType: tokenType, duration: duration, jti: jti)
        let claims = minter.claims(now: Date())
        if let unknown = claims.scope.first(where: { Scope(rawValue: $0) == nil }) {
            Console.error("Unknown scope '\(unknown)'")
            throw ExitCode.failure
        }
        let key: Data
        do {
            key = try TokenSecretSource(text: secret, file: secretFile, base64: base64).key()
        } catch {
            Console.error(error.message)
            throw ExitCode.failure
        }
        if global.verbose { Console.line("Token: " + claims.payloadJSON(style: .complete)) }
        Console.line(TokenSigner(key: key).sign(claims, style: .complete))
    }
}
