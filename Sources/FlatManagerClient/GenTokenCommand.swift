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
        let scopes = scope.isEmpty ? ["build", "upload", "download", "publish", "jobs"] : scope
        if let unknown = scopes.first(where: { Scope(rawValue: $0) == nil }) {
            Console.error("Unknown scope '\(unknown)'")
            throw ExitCode.failure
        }
        let key: Data
        do {
            key = try secretKey()
        } catch {
            Console.error(error.message)
            throw ExitCode.failure
        }
        let claims = Claims(
            sub: sub, exp: Int64(Date().timeIntervalSince1970) + duration, name: name, jti: jti, scope: scopes,
            prefixes: prefix.isEmpty ? [""] : prefix, repos: repo.isEmpty ? [""] : repo,
            branches: branch.isEmpty ? ["stable"] : branch, tokenType: tokenType)
        if global.verbose { Console.line("Token: " + claims.payloadJSON(style: .complete)) }
        Console.line(TokenSigner(key: key).sign(claims, style: .complete))
    }

    /// The HMAC key: the trimmed secret text as UTF-8, or its base64 decoding with `--base64`.
    func secretKey() throws(SecretError) -> Data {
        let text: String
        if let secret {
            text = secret
        } else if let secretFile {
            let data: Data
            if secretFile == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: secretFile))
                } catch {
                    throw .unreadable(error.localizedDescription)
                }
            }
            guard let decoded = String(data: data, encoding: .utf8) else { throw .unreadable("not UTF-8 text") }
            text = decoded
        } else {
            throw .noSecret
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard base64 else { return Data(trimmed.utf8) }
        guard let key = Data(base64Encoded: trimmed) else { throw .invalidBase64 }
        return key
    }

    /// Why no key could be had; `message` is what upstream prints.
    enum SecretError: Error {
        case noSecret
        case unreadable(String)
        case invalidBase64

        var message: String {
            switch self {
            case .noSecret: "No secret specified, use --secret or --secret-file"
            case .unreadable(let details): "Error reading secrets: \(details)"
            case .invalidBase64: "Invalid base64 secret"
            }
        }
    }
}
