import FlatManagerCore
import FlatManagerMetrics
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The event-loop fast path for the commonest request a repository server gets: an unconditional `GET` or `HEAD` of a
/// plain file of a main repository (`/repo/<name>/objects/…`, `summary`, `config`, `refs/…`), answered by
/// `RepoWireHandler` at the head of the channel pipeline (before NIO's HTTP decoder) without the router, the middlewares or a task: one `openat2` below
/// the repository's open root (no symlink followed), one `fstat`, and the body either read at once (small files) or
/// sent by the kernel from the page cache (`sendfile`, through a NIO `FileRegion`).
///
/// It answers only what the router would answer with 200 and exactly these headers (issue #13). Everything else is
/// handed on untouched and the router decides as before: other paths and methods, percent-encoded, dotted or
/// unusual names, `Range` and conditional requests, request bodies, upgrades, HTTP/1.0 or `Connection: close`,
/// missing files, directories, symlinks (`media`), the files download protection examines (commits and delta
/// superblocks), and tokens the router must look at (an invalid one, one never seen, one with a `jti`, whose
/// revocation and use the database records).
public final class RepoFastPath: Sendable {
    /// Each main repository's open root, by name: the ones `FileController` serves from.
    let roots: [String: RepoRoot]
    /// The router's memo of verified repo-secret tokens (`TokenMiddleware.repoVerified`): a token is taken here
    /// only when the router has verified it before.
    let verifiedTokens: VerifiedTokens
    let tokenPrefix: String?
    /// The access log (`RUST_LOG`'s level for it decides whether a line is formatted at all).
    let accessLogger: Logger
    let metrics: ServerMetrics?

    /// Files up to this size are read into the response at once; larger ones go out through `sendfile`.
    static let inlineLimit: Int64 = 64 * 1024

    public init(files: FileController, tokens: TokenMiddleware, accessLogger: Logger, metrics: ServerMetrics?) {
        self.roots = files.roots
        self.verifiedTokens = tokens.repoVerified
        self.tokenPrefix = tokens.tokenPrefix
        self.accessLogger = accessLogger
        self.metrics = metrics
    }

    /// What a request head asks the fast path for.
    struct Target {
        let root: RepoRoot
        /// The path below the repository root (checked segments joined by `/`).
        let relative: Substring
        /// The repository's name, for the log metadata.
        let repo: Substring
        /// The last segment: the content type and disposition come from it.
        let name: Substring
        let method: WireRequestHead.Method
    }

    /// The file a plain `GET` or `HEAD` of `uri` asks for (the head already read by `WireRequestHead`, which left
    /// out every header that makes the answer anything but a plain 200), when the fast path may answer it; nil hands
    /// the request to the router.
    func target(method: WireRequestHead.Method, uri: String, authorization: String?) -> Target? {
        guard uri.utf8.starts(with: Self.repoPrefix) else { return nil }
        // "/repo/<name>/<rest>": every segment non-empty, of the plain characters, not starting with `.` (the
        // router's segment rules would refuse or rewrite anything else).
        let tail = uri.utf8.dropFirst(Self.repoPrefix.count)
        var segmentStart = true
        for byte in tail {
            if byte == UInt8(ascii: "/") {
                if segmentStart { return nil }
                segmentStart = true
                continue
            }
            if segmentStart, byte == UInt8(ascii: ".") { return nil }
            guard Self.plain[Int(byte)] else { return nil }
            segmentStart = false
        }
        if segmentStart { return nil }  // Empty, or ends with `/`.
        guard let slash = tail.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let repo = Substring(tail[..<slash])
        guard let root = roots[String(repo)] else { return nil }
        let relative = Substring(tail[tail.index(after: slash)...])
        if relative.utf8.starts(with: "media/".utf8) { return nil }  // May be a symlink to another disk, by design.
        let name =
            relative.utf8.lastIndex(of: UInt8(ascii: "/")).map { relative[relative.index(after: $0)...] } ?? relative
        if DownloadProtection.examines(name: name) { return nil }  // Download protection decides.
        guard authorizationAccepted(authorization) else { return nil }
        return Target(root: root, relative: relative, repo: repo, name: name, method: method)
    }

    static let repoPrefix = Array("/repo/".utf8)

    /// `[A-Za-z0-9._+,=@~-]`: what ostree's object, ref, delta and summary names are made of.
    static let plain: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "._+,=@~-".utf8.contains(byte)
        }
    }

    /// No `Authorization` header, or one with a token the router has verified before and that has no `jti` (the
    /// repo routes use no claims for plain files; a bad token must still get the router's 401).
    func authorizationAccepted(_ value: String?) -> Bool {
        guard let value else { return true }
        guard let token = try? AuthorizationHeader.token(from: value, tokenPrefix: tokenPrefix),
            let claims = verifiedTokens.knownClaims(of: token)
        else { return false }
        return claims.jti == nil
    }

    /// One access-log line in the router's shape, and the request's figures for `/metrics`. The request id and the
    /// user agent are asked for only when the line is written.
    func record(
        _ target: Target, uri: String, size: Int64, started: NIODeadline, remote: String,
        userAgent: () -> String?, requestID: () -> String
    ) {
        let elapsed = NIODeadline.now() - started
        let seconds = Double(elapsed.nanoseconds) / 1e9
        if accessLogger.logLevel <= .info {
            // The router's line, built with appends (an interpolated message costs several times as much).
            var line = remote
            line.reserveCapacity(remote.utf8.count + uri.utf8.count + 96)
            line += target.method == .get ? " \"GET " : " \"HEAD "
            line += uri
            line += " HTTP/1.1\" 200 "
            line += String(target.method == .get ? size : 0)
            line += " "
            line += userAgent() ?? "-"
            line += " "
            line += AccessLogMiddleware.seconds(.nanoseconds(elapsed.nanoseconds))
            let metadata: Logger.Metadata = [
                "request_id": .string(requestID()), "repo": .string(String(target.repo)),
            ]
            accessLogger.info(Logger.Message(stringLiteral: line), metadata: metadata)
        }
        metrics?.requestAnswered(
            method: target.method == .get ? "GET" : "HEAD", route: "/repo/**", status: 200, seconds: seconds)
    }
}

/// `Date` and `Last-Modified` values: the formatted text of the last second asked for, per event loop.
struct HTTPDateCache {
    private var second = Int.min
    private var text = ""

    mutating func format(_ seconds: Int) -> String {
        if seconds != second {
            second = seconds
            text = HTTPDate.format(secondsSinceEpoch: seconds)
        }
        return text
    }
}

extension VerifiedTokens {
    /// The claims of a token this memo verified before, if still valid; nil for any other (never verified here).
    func knownClaims(of token: String, now: Int64 = Int64(time(nil))) -> Claims? {
        guard let claims = cached(token), claims.exp >= now else { return nil }
        return claims
    }
}
