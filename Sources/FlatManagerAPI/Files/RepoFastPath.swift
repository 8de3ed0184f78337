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
/// `RepoFastPathHandler` in the channel pipeline without the router, the middlewares or a task: one `openat2` below
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
        let relative: String
        /// The repository's name, for the log metadata.
        let repo: Substring
        /// The last segment: the content type and disposition come from it.
        let name: Substring
        let method: HTTPMethod
    }

    /// The file `head` asks for, when the fast path may answer it; nil hands the request to the router.
    func target(of head: HTTPRequestHead) -> Target? {
        guard head.method == .GET || head.method == .HEAD, head.version == .http1_1 else { return nil }
        let uri = head.uri
        guard uri.utf8.starts(with: Self.repoPrefix), Self.acceptsHeaders(head.headers) else { return nil }
        // "/repo/<name>/<rest>": every segment non-empty, of the plain characters, not starting with `.` or `*` (the
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
        guard authorizationAccepted(head.headers) else { return nil }
        return Target(root: root, relative: String(relative), repo: repo, name: name, method: head.method)
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

    /// No header that makes the answer anything but a plain 200 of the whole file, no body, and keep-alive.
    static func acceptsHeaders(_ headers: HTTPHeaders) -> Bool {
        for (name, value) in headers {
            switch name.utf8.count {
            case 5 where equalsIgnoringCase(name, "range"): return false
            case 7 where equalsIgnoringCase(name, "upgrade"): return false
            case 8 where equalsIgnoringCase(name, "if-match"), 8 where equalsIgnoringCase(name, "if-range"):
                return false
            case 10 where equalsIgnoringCase(name, "connection"):
                // `close` (or anything but keep-alive) lets the router handle the connection's end.
                guard equalsIgnoringCase(value, "keep-alive") else { return false }
            case 13 where equalsIgnoringCase(name, "if-none-match"): return false
            case 14 where equalsIgnoringCase(name, "content-length"):
                guard value == "0" else { return false }
            case 17 where equalsIgnoringCase(name, "if-modified-since"),
                17 where equalsIgnoringCase(name, "transfer-encoding"):
                return false
            case 19 where equalsIgnoringCase(name, "if-unmodified-since"): return false
            default: break
            }
        }
        return true
    }

    /// ASCII case-insensitive comparison with a lowercase `lower`.
    static func equalsIgnoringCase(_ text: String, _ lower: StaticString) -> Bool {
        guard text.utf8.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in
            var index = 0
            for byte in text.utf8 {
                let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                guard folded == expected[index] else { return false }
                index += 1
            }
            return true
        }
    }

    /// No `Authorization` header, or one with a token the router has verified before and that has no `jti` (the
    /// repo routes use no claims for plain files; a bad token must still get the router's 401).
    func authorizationAccepted(_ headers: HTTPHeaders) -> Bool {
        var values = headers["authorization"].makeIterator()
        guard let value = values.next() else { return true }
        guard values.next() == nil,
            let token = try? AuthorizationHeader.token(from: value, tokenPrefix: tokenPrefix),
            let claims = verifiedTokens.knownClaims(of: token)
        else { return false }
        return claims.jti == nil
    }

    /// One access-log line in the router's shape, and the request's figures for `/metrics`.
    func record(
        _ target: Target, head: HTTPRequestHead, remote: String, requestID: String, size: Int64,
        started: NIODeadline
    ) {
        let elapsed = NIODeadline.now() - started
        let seconds = Double(elapsed.nanoseconds) / 1e9
        let method = target.method == .GET ? "GET" : "HEAD"
        if accessLogger.logLevel <= .info {
            // The router's line, built with appends (an interpolated message costs several times as much).
            var line = remote
            line.reserveCapacity(remote.utf8.count + head.uri.utf8.count + 96)
            line += target.method == .GET ? " \"GET " : " \"HEAD "
            line += head.uri
            line += " HTTP/1.1\" 200 "
            line += String(target.method == .GET ? size : 0)
            line += " "
            line += head.headers.first(name: "user-agent") ?? "-"
            line += " "
            line += AccessLogMiddleware.seconds(.nanoseconds(elapsed.nanoseconds))
            let metadata: Logger.Metadata = ["request_id": .string(requestID), "repo": .string(String(target.repo))]
            accessLogger.info(Logger.Message(stringLiteral: line), metadata: metadata)
        }
        metrics?.requestAnswered(method: method, route: "/repo/**", status: 200, seconds: seconds)
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
