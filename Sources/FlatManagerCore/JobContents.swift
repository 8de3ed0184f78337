import Foundation

/// The `contents` JSON of each job kind (server.md §3.8). Readers ignore unknown keys; missing optionals are null.
public enum JobContents: Sendable, Equatable {
    case commit(build: Int32, endOfLife: String?, endOfLifeRebase: String?, tokenType: Int32?)
    /// `allowDowngrade` (ours) is written only when set, so a stored publish job reads as upstream's otherwise.
    case publish(build: Int32, allowDowngrade: Bool = false)
    case updateRepo(repo: String)
    case republish(app: String, endOfLife: String?, endOfLifeRebase: String?)
    case check(build: Int32, name: String)
    case prune
    /// Ours (issue #15): make `commit`, an earlier commit of `ref`, current again in the job's repo.
    case rollback(ref: String, commit: String)

    public var kind: JobKind {
        switch self {
        case .commit: .commit
        case .publish: .publish
        case .updateRepo: .updateRepo
        case .republish: .republish
        case .check: .check
        case .prune: .prune
        case .rollback: .rollback
        }
    }

    /// The JSON text stored in the `contents` column, keys sorted as 0.4.2 wrote them.
    public var json: String {
        switch self {
        case .commit(let build, let eol, let rebase, let tokenType):
            return "{\"build\":\(build),\"endoflife\":\(JSONText.optional(eol)),"
                + "\"endoflife_rebase\":\(JSONText.optional(rebase)),"
                + "\"token_type\":\(tokenType.map { String($0) } ?? "null")}"
        case .publish(let build, let allowDowngrade):
            return allowDowngrade ? "{\"allow_downgrade\":true,\"build\":\(build)}" : "{\"build\":\(build)}"
        case .updateRepo(let repo):
            return "{\"repo\":\(JSONText.string(repo))}"
        case .republish(let app, let eol, let rebase):
            return "{\"app\":\(JSONText.string(app)),\"endoflife\":\(JSONText.optional(eol)),"
                + "\"endoflife_rebase\":\(JSONText.optional(rebase))}"
        case .check(let build, let name):
            return "{\"build\":\(build),\"name\":\(JSONText.string(name))}"
        case .prune:
            return "{}"
        case .rollback(let ref, let commit):
            return "{\"commit\":\(JSONText.string(commit)),\"ref\":\(JSONText.string(ref))}"
        }
    }

    private struct Fields: Decodable {
        var build: Int32?
        var endoflife: String?
        var endoflife_rebase: String?
        var token_type: Int32?
        var repo: String?
        var app: String?
        var name: String?
        var allow_downgrade: Bool?
        var ref: String?
        var commit: String?
    }

    /// Parses a stored `contents` string for the given kind; nil when it does not have the kind's required keys.
    public init?(kind: JobKind, json: String) {
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(json.utf8)) else { return nil }
        switch kind {
        case .commit:
            guard let build = fields.build else { return nil }
            self = .commit(
                build: build, endOfLife: fields.endoflife, endOfLifeRebase: fields.endoflife_rebase,
                tokenType: fields.token_type)
        case .publish:
            guard let build = fields.build else { return nil }
            self = .publish(build: build, allowDowngrade: fields.allow_downgrade ?? false)
        case .updateRepo:
            guard let repo = fields.repo else { return nil }
            self = .updateRepo(repo: repo)
        case .republish:
            guard let app = fields.app else { return nil }
            self = .republish(app: app, endOfLife: fields.endoflife, endOfLifeRebase: fields.endoflife_rebase)
        case .check:
            guard let build = fields.build, let name = fields.name else { return nil }
            self = .check(build: build, name: name)
        case .prune:
            self = .prune
        case .rollback:
            guard let ref = fields.ref, let commit = fields.commit else { return nil }
            self = .rollback(ref: ref, commit: commit)
        }
    }
}

/// Small helpers to write JSON text where key order matters (job contents, token payloads).
public enum JSONText {
    /// A JSON string literal for `value`.
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20: out += String(format: "\\u%04x", s.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public static func optional(_ value: String?) -> String {
        value.map(string) ?? "null"
    }

    public static func array(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ",") + "]"
    }
}
