import ArgumentParser
import FlatManagerCore
import Foundation

/// `gentoken`: mints an HS256 token with 0.4.2's defaults and claim order (api.md §9.8), plus 0.5's `--jti`.
@main
struct GenToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gentoken", abstract: "Generate a flat-manager token signed with the server secret.")

    @Flag(name: [.short, .long], help: "First print the claims as 'Token: <JSON>'.")
    var verbose = false

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

    @Option(help: "Token id for revocation tracking (0.5).")
    var jti: String?

    @Option(help: "The secret text.")
    var secret: String?

    @Option(name: .customLong("secret-file"), help: "Read the secret from this file ('-' = standard input).")
    var secretFile: String?

    @Flag(name: .customLong("base64"), help: "The secret text is standard base64 of the key.")
    var base64 = false

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
        let minter = TokenMinter(
            name: name, sub: sub, scope: scope, prefixes: prefix, repos: repo, branches: branch,
            tokenType: tokenType, duration: duration, jti: jti)
        do {
            let key = try TokenSecretSource(text: secret, file: secretFile, base64: base64).key()
            let claims = minter.claims(now: Date())
            if verbose { print("Token: " + claims.payloadJSON(style: .gentoken)) }
            print(TokenSigner(key: key).sign(claims, style: .gentoken))
        } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode.failure
        }
    }
}
