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

    @Option(
        help:
            "Ours: HS256 (default, with the secret), ed25519 or es256 (with --private-key; the server needs the public key in token-public-keys)."
    )
    public var algorithm = "hs256"

    @Option(name: .customLong("private-key"), help: "Ours: PEM private key file for --algorithm ed25519/es256.")
    public var privateKey: String?

    @Option(help: "Ours: the kid header naming the server's public key.")
    public var kid: String?

    public init() {}

    /// Signs `claims` as these options say: with the secret (HS256) or with the private key file.
    public func sign(_ claims: Claims, style: Claims.PayloadStyle) throws(TokenSecretError) -> String {
        let algorithm: TokenAlgorithm
        switch self.algorithm.lowercased() {
        case "hs256":
            guard privateKey == nil else {
                throw TokenSecretError.signing("--private-key needs --algorithm ed25519 or es256")
            }
            return TokenSigner(key: try secretSource.key()).sign(claims, style: style)
        case "ed25519", "eddsa": algorithm = .edDSA
        case "es256": algorithm = .es256
        default: throw TokenSecretError.signing("Unknown algorithm '\(self.algorithm)' (hs256, ed25519, es256)")
        }
        guard let privateKey else {
            throw TokenSecretError.signing("--algorithm \(self.algorithm) needs --private-key FILE")
        }
        guard let pem = try? String(contentsOfFile: privateKey, encoding: .utf8) else {
            throw TokenSecretError.signing("Cannot read the private key file \(privateKey)")
        }
        do {
            return try TokenPrivateKey(algorithm: algorithm, pem: pem).sign(claims, kid: kid, style: style)
        } catch let error as TokenKeyError {
            throw TokenSecretError.signing("\(privateKey): \(error.message)")
        } catch {
            throw TokenSecretError.signing("Cannot sign with \(privateKey): \(error)")
        }
    }

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
