import ArgumentParser
import FlatManagerCore
import Foundation

/// The options that mint a token, shared by `gentoken` (0.4.2's standalone binary) and the client's `gentoken`
/// subcommand (0.5), so both spell and document them once (api.md §9.8).
public struct TokenMintOptions: ParsableArguments {
    @Option(help: "The name claim.")
    public var name = "default"

    @Option(help: "The sub claim.")
    public var sub = "build"

    @Option(parsing: .upToNextOption, help: "Scopes (default: build upload download publish jobs).")
    public var scope: [String] = []

    @Option(parsing: .upToNextOption, help: "Allowed app id prefixes (default: all).")
    public var prefix: [String] = []

    @Option(parsing: .upToNextOption, help: "Allowed repositories (default: all).")
    public var repo: [String] = []

    @Option(parsing: .upToNextOption, help: "Branches recorded on builds (default: stable).")
    public var branch: [String] = []

    @Option(name: .customLong("token-type"), help: "The token_type claim.")
    public var tokenType = "app"

    @Option(help: "Validity in seconds from now.")
    public var duration: Int64 = 31_536_000

    @Option(help: "Token id for revocation tracking (0.5).")
    public var jti: String?

    @Option(help: "The secret text.")
    public var secret: String?

    @Option(name: .customLong("secret-file"), help: "Read the secret from this file ('-' = standard input).")
    public var secretFile: String?

    @Flag(name: .customLong("base64"), help: "The secret text is standard base64 of the key.")
    public var base64 = false

    public init() {}

    /// The minter for these options (claims are made at signing time).
    public var minter: TokenMinter {
        TokenMinter(
            name: name, sub: sub, scope: scope, prefixes: prefix, repos: repo, branches: branch,
            tokenType: tokenType, duration: duration, jti: jti)
    }

    /// Where the signing key comes from.
    public var secretSource: TokenSecretSource {
        TokenSecretSource(text: secret, file: secretFile, base64: base64)
    }
}
