import Foundation

/// Why `gentoken` could not get its key; `message` is what upstream prints. Shared by the standalone `gentoken`
/// (0.4.2) and the client's `gentoken` subcommand (0.5).
public enum TokenSecretError: Error, Sendable, Equatable {
    case noSecret
    case unreadable(String)
    case invalidBase64
    /// Ours: a problem with `--algorithm`, `--private-key` or the key file.
    case signing(String)

    public var message: String {
        switch self {
        case .signing(let message): message
        case .noSecret: "No secret specified, use --secret or --secret-file"
        case .unreadable(let details): "Error reading secrets: \(details)"
        case .invalidBase64: "Invalid base64 secret"
        }
    }
}

/// Where `gentoken`'s secret comes from (`--secret`, `--secret-file`, `-` = stdin) and how its text becomes the
/// HMAC key (api.md §9.8).
public struct TokenSecretSource: Sendable {
    public var text: String?
    public var file: String?
    public var base64: Bool

    public init(text: String?, file: String?, base64: Bool) {
        self.text = text
        self.file = file
        self.base64 = base64
    }

    /// The key bytes: the trimmed text as UTF-8, or its base64 decoding with `--base64`.
    public func key() throws(TokenSecretError) -> Data {
        let raw = try secretText().trimmingCharacters(in: .whitespacesAndNewlines)
        guard base64 else { return Data(raw.utf8) }
        guard let data = Data(base64Encoded: raw) else { throw .invalidBase64 }
        return data
    }

    private func secretText() throws(TokenSecretError) -> String {
        if let text { return text }
        guard let file else { throw .noSecret }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw .unreadable(error.localizedDescription)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable("not UTF-8 text") }
        return text
    }
}

/// `gentoken`'s claim values with 0.4.2's defaults applied to empty lists.
public struct TokenMinter: Sendable {
    public var name: String
    public var sub: String
    public var scope: [String]
    public var prefixes: [String]
    public var repos: [String]
    public var branches: [String]
    public var tokenType: String
    public var duration: Int64
    public var jti: String?

    public init(
        name: String, sub: String, scope: [String], prefixes: [String], repos: [String], branches: [String],
        tokenType: String, duration: Int64, jti: String?
    ) {
        self.name = name
        self.sub = sub
        self.scope = scope
        self.prefixes = prefixes
        self.repos = repos
        self.branches = branches
        self.tokenType = tokenType
        self.duration = duration
        self.jti = jti
    }

    /// The scopes when none were given.
    public static let defaultScopes = ["build", "upload", "download", "publish", "jobs"]

    /// The claims of a token minted at `now`. `exp` saturates: a `--duration` past the end of Int64 means "never
    /// expires" (the server accepts any Int64 `exp`), where 0.4.2 panics.
    public func claims(now: Date) -> Claims {
        Claims(
            sub: sub, exp: Int64(now.timeIntervalSince1970).saturatingAdding(duration), name: name, jti: jti,
            scope: scope.isEmpty ? Self.defaultScopes : scope,
            prefixes: prefixes.isEmpty ? [""] : prefixes, repos: repos.isEmpty ? [""] : repos,
            branches: branches.isEmpty ? ["stable"] : branches, tokenType: tokenType)
    }
}
