/// Request and response bodies of the HTTP API (api.md §4), shared by the server and our client.
/// Member names are upstream's, character for character (hyphens and underscores as they are).

public struct CreateBuildRequest: Codable, Sendable, Equatable {
    public var repo: String
    public var appID: String?
    public var publicDownload: Bool?
    public var buildLogURL: String?

    public init(repo: String, appID: String? = nil, publicDownload: Bool? = nil, buildLogURL: String? = nil) {
        self.repo = repo
        self.appID = appID
        self.publicDownload = publicDownload
        self.buildLogURL = buildLogURL
    }

    enum CodingKeys: String, CodingKey {
        case repo
        case appID = "app-id"
        case publicDownload = "public-download"
        case buildLogURL = "build-log-url"
    }
}

public struct CreateBuildRefRequest: Codable, Sendable, Equatable {
    public var ref: String
    public var commit: String
    public var buildLogURL: String?

    public init(ref: String, commit: String, buildLogURL: String? = nil) {
        self.ref = ref
        self.commit = commit
        self.buildLogURL = buildLogURL
    }

    enum CodingKeys: String, CodingKey {
        case ref, commit
        case buildLogURL = "build-log-url"
    }
}

public struct MissingObjectsRequest: Codable, Sendable, Equatable {
    public var wanted: [String]
    public init(wanted: [String]) { self.wanted = wanted }
}

public struct MissingObjectsResponse: Codable, Sendable, Equatable {
    public var missing: [String]
    public init(missing: [String]) { self.missing = missing }
}

public struct AddExtraIDsRequest: Codable, Sendable, Equatable {
    public var ids: [String]
    public init(ids: [String]) { self.ids = ids }
}

/// Body of `POST /build/{id}/commit`; keys with underscores, all optional.
public struct CommitRequest: Codable, Sendable, Equatable {
    public var endoflife: String?
    public var endoflifeRebase: String?
    public var tokenType: Int32?

    public init(endoflife: String? = nil, endoflifeRebase: String? = nil, tokenType: Int32? = nil) {
        self.endoflife = endoflife
        self.endoflifeRebase = endoflifeRebase
        self.tokenType = tokenType
    }

    enum CodingKeys: String, CodingKey {
        case endoflife
        case endoflifeRebase = "endoflife_rebase"
        case tokenType = "token_type"
    }

    // The 0.4.2 client always sends endoflife and endoflife_rebase (possibly null) and token_type only when given.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(endoflife, forKey: .endoflife)
        try c.encode(endoflifeRebase, forKey: .endoflifeRebase)
        try c.encodeIfPresent(tokenType, forKey: .tokenType)
    }
}

/// Body of job GETs: `{"log-offset": N}` or `{}`.
///
/// Ours: `"wait-for-change": SECONDS` holds the answer until the job's log grows past the offset or its status
/// changes, at most that long (capped at `JobLogRequest.maximumWait`); a server that did so says
/// `Flat-Manager-Long-Poll: 1` in the answer. Upstream servers ignore the member and upstream clients never send it.
public struct JobLogRequest: Codable, Sendable, Equatable {
    public var logOffset: Int?
    public var waitForChange: Double?

    /// The longest a job GET is held.
    public static let maximumWait = 15.0
    /// The answer header of a server that held the answer.
    public static let longPollHeader = "Flat-Manager-Long-Poll"

    public init(logOffset: Int? = nil, waitForChange: Double? = nil) {
        self.logOffset = logOffset
        self.waitForChange = waitForChange
    }

    enum CodingKeys: String, CodingKey {
        case logOffset = "log-offset"
        case waitForChange = "wait-for-change"
    }
}

public struct TokenSubsetRequest: Codable, Sendable, Equatable {
    public var sub: String
    public var scope: [String]
    public var duration: Int64
    public var name: String
    public var prefixes: [String]?
    public var apps: [String]?
    public var repos: [String]?

    public init(
        sub: String, scope: [String], duration: Int64, name: String, prefixes: [String]? = nil, apps: [String]? = nil,
        repos: [String]? = nil
    ) {
        self.sub = sub
        self.scope = scope
        self.duration = duration
        self.name = name
        self.prefixes = prefixes
        self.apps = apps
        self.repos = repos
    }
}

public struct TokenResponse: Codable, Sendable, Equatable {
    public var token: String
    public init(token: String) { self.token = token }
}

public struct TokenIDsRequest: Codable, Sendable, Equatable {
    public var tokenIDs: [String]
    public init(tokenIDs: [String]) { self.tokenIDs = tokenIDs }

    enum CodingKeys: String, CodingKey {
        case tokenIDs = "token_ids"
    }
}

public struct RepublishRequest: Codable, Sendable, Equatable {
    public var app: String
    public var endoflife: String?
    public var endoflifeRebase: String?

    public init(app: String, endoflife: String? = nil, endoflifeRebase: String? = nil) {
        self.app = app
        self.endoflife = endoflife
        self.endoflifeRebase = endoflifeRebase
    }

    enum CodingKeys: String, CodingKey {
        case app, endoflife
        case endoflifeRebase = "endoflife_rebase"
    }
}

public struct PruneRequest: Codable, Sendable, Equatable {
    public var repo: String
    public init(repo: String) { self.repo = repo }
}

/// Body of `POST /api/v1/repo/{repo}/rollback` (ours, issue #15): the ref and the earlier commit of its history
/// whose content becomes current again.
public struct RollbackRequest: Codable, Sendable, Equatable {
    public var ref: String
    public var commit: String
    public init(ref: String, commit: String) {
        self.ref = ref
        self.commit = commit
    }
}

/// The upstream error JSON (api.md §2).
public struct ErrorBody: Codable, Sendable, Equatable {
    public var status: Int
    public var errorType: String
    public var message: String
    public var currentState: String?
    public var expectedState: String?

    public init(
        status: Int, errorType: String, message: String, currentState: String? = nil, expectedState: String? = nil
    ) {
        self.status = status
        self.errorType = errorType
        self.message = message
        self.currentState = currentState
        self.expectedState = expectedState
    }

    enum CodingKeys: String, CodingKey {
        case status, message
        case errorType = "error-type"
        case currentState = "current-state"
        case expectedState = "expected-state"
    }
}

/// A ref name a build may carry (api.md §4.9): `app|runtime/<id>/<arch>/<branch>` or `screenshots/<arch>`, each
/// element valid by flatpak's grammar (`AppID`, `Arch`, `Branch`).
///
/// Upstream checks only the number of `/`-separated elements, so `app/org.test.Hello/../-stable` was stored and
/// only ostree's refspec check kept it off the disk later; the ref reaches command lines and paths, so it is
/// refused here.
public enum RefName: Sendable, Equatable {
    case app(id: String, arch: String, branch: String)
    case runtime(id: String, arch: String, branch: String)
    case screenshots(arch: String)

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 2 where parts[0] == "screenshots" && Arch.isValid(parts[1]):
            self = .screenshots(arch: parts[1])
        case 4 where AppID.isValid(parts[1]) && Arch.isValid(parts[2]) && Branch.isValid(parts[3]):
            switch parts[0] {
            case "app": self = .app(id: parts[1], arch: parts[2], branch: parts[3])
            case "runtime": self = .runtime(id: parts[1], arch: parts[2], branch: parts[3])
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The app or runtime id, nil for screenshots.
    public var id: String? {
        switch self {
        case .app(let id, _, _), .runtime(let id, _, _): id
        case .screenshots: nil
        }
    }
}
