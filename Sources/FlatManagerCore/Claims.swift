import Foundation

/// The permissions a token can carry (api.md §9.3). Unknown strings are kept but grant nothing.
public enum Scope: String, Sendable, CaseIterable {
    case jobs, build, upload, publish, generate, download, republish, reviewcheck, tokenmanagement
}

/// The claims of a flat-manager JWT (api.md §9.2). `sub` and `exp` are required; a wrong type for any known claim
/// makes the token invalid; unknown claims are ignored.
public struct Claims: Sendable, Equatable {
    public var sub: String
    public var exp: Int64
    public var name: String?
    public var jti: String?
    public var scope: [String]
    public var prefixes: [String]
    public var apps: [String]
    public var repos: [String]
    public var branches: [String]
    public var tokenType: String?

    public init(
        sub: String, exp: Int64, name: String? = nil, jti: String? = nil, scope: [String] = [],
        prefixes: [String] = [], apps: [String] = [], repos: [String] = [], branches: [String] = [],
        tokenType: String? = nil
    ) {
        self.sub = sub
        self.exp = exp
        self.name = name
        self.jti = jti
        self.scope = scope
        self.prefixes = prefixes
        self.apps = apps
        self.repos = repos
        self.branches = branches
        self.tokenType = tokenType
    }

    public func has(_ scope: Scope) -> Bool { self.scope.contains(scope.rawValue) }
}

extension Claims: Decodable {
    enum CodingKeys: String, CodingKey {
        case sub, exp, name, jti, scope, prefixes, apps, repos, branches
        case tokenType = "token_type"
    }

    /// The longest `jti` accepted, in UTF-8 bytes. The id is the primary key of `tokens`, and PostgreSQL cannot index
    /// a text much longer than 2 KB: a longer one could never be tracked or revoked, so such a token is refused as
    /// invalid (401) rather than failing every request with a database error (500). Real ids are UUID-sized.
    public static let maximumJTILength = 1024

    /// Decodes the claims; a string claim holding a NUL character counts as ill-typed (PostgreSQL cannot store one,
    /// and `name`, `jti`, `token_type` and `branches` end up in the database), as does an over-long `jti`.
    public init(from decoder: any Decoder) throws {
        try self.init(decodingUnchecked: decoder)
        let strings = [sub] + [name, jti, tokenType].compactMap(\.self) + scope + prefixes + apps + repos + branches
        guard !strings.contains(where: { $0.utf8.contains(0) }), (jti?.utf8.count ?? 0) <= Self.maximumJTILength
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "A claim holds a NUL character or an over-long jti"))
        }
    }

    private init(decodingUnchecked decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sub = try c.decode(String.self, forKey: .sub)
        exp = try c.decode(Int64.self, forKey: .exp)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        jti = try c.decodeIfPresent(String.self, forKey: .jti)
        scope = try c.decodeIfPresent([String].self, forKey: .scope) ?? []
        prefixes = try c.decodeIfPresent([String].self, forKey: .prefixes) ?? []
        apps = try c.decodeIfPresent([String].self, forKey: .apps) ?? []
        repos = try c.decodeIfPresent([String].self, forKey: .repos) ?? []
        branches = try c.decodeIfPresent([String].self, forKey: .branches) ?? []
        tokenType = try c.decodeIfPresent(String.self, forKey: .tokenType)
    }
}

extension Claims {
    /// How the payload JSON is laid out: as 0.4.2's `gentoken` (no `jti`, no `apps`), or complete as 0.5 and
    /// `token_subset` write it.
    public enum PayloadStyle: Sendable {
        case gentoken
        case complete
    }

    /// The payload JSON with upstream's member order.
    public func payloadJSON(style: PayloadStyle) -> String {
        switch style {
        case .gentoken:
            var members = [
                "\"sub\":\(JSONText.string(sub))", "\"scope\":\(JSONText.array(scope))",
                "\"name\":\(JSONText.optional(name))", "\"prefixes\":\(JSONText.array(prefixes))",
                "\"repos\":\(JSONText.array(repos))", "\"exp\":\(exp)",
                "\"token_type\":\(JSONText.optional(tokenType))", "\"branches\":\(JSONText.array(branches))",
            ]
            if let jti { members.insert("\"jti\":\(JSONText.string(jti))", at: 6) }
            return "{" + members.joined(separator: ",") + "}"
        case .complete:
            let members = [
                "\"name\":\(JSONText.optional(name))", "\"sub\":\(JSONText.string(sub))", "\"exp\":\(exp)",
                "\"jti\":\(JSONText.optional(jti))", "\"scope\":\(JSONText.array(scope))",
                "\"prefixes\":\(JSONText.array(prefixes))", "\"apps\":\(JSONText.array(apps))",
                "\"repos\":\(JSONText.array(repos))", "\"branches\":\(JSONText.array(branches))",
                "\"token_type\":\(JSONText.optional(tokenType))",
            ]
            return "{" + members.joined(separator: ",") + "}"
        }
    }
}
