import FlatManagerCore

/// Names from a request checked where they enter (issue #10): a bad one is a 400 `generic-error` with upstream's
/// `Invalid <what> <name>` message (as `Invalid ref_name`, `Invalid extra id`), before it reaches a lookup, a path,
/// the database or a command line.
enum EdgeNames {
    /// `text` as a `Name`, or 400 `Invalid <what> <text>`.
    static func parse<Name: ValidatedName>(_ text: String, as type: Name.Type, what: String) throws(APIError) -> Name {
        guard let name = Name(text) else { throw APIError.generic("Invalid \(what) \(text)") }
        return name
    }

    /// A repository name from a path or body; 400 `Invalid repo name <name>` when it is outside the grammar.
    static func repo(_ text: String) throws(APIError) -> RepoName {
        try parse(text, as: RepoName.self, what: "repo name")
    }

    /// An app id from a body or query; 400 `Invalid app id <id>` when it is outside flatpak's grammar.
    static func appID(_ text: String) throws(APIError) -> AppID {
        try parse(text, as: AppID.self, what: "app id")
    }

    /// A check name from a path; 400 `Invalid check name <name>` when it is outside the grammar.
    static func checkName(_ text: String) throws(APIError) -> CheckName {
        try parse(text, as: CheckName.self, what: "check name")
    }
}
