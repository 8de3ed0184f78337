import FlatManagerCore
import FlatManagerMetrics
import Hummingbird
import Logging
import NIOCore

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
    /// A main repository's open root (the one `FileController` serves from) and its name.
    /// A class: a `Target` carries one reference to it, not three (issue #13).
    final class Root: Sendable {
        let name: [UInt8]
        let repo: String
        let root: RepoRoot

        init(name: [UInt8], repo: String, root: RepoRoot) {
            self.name = name
            self.repo = repo
            self.root = root
        }
    }

    /// The roots, looked up by a scan of the name bytes (a server has a few repositories).
    let roots: [Root]
    /// The router's memo of verified repo-secret tokens (`TokenMiddleware.repoVerified`): a token is taken here
    /// only when the router has verified it before.
    let verifiedTokens: VerifiedTokens
    let tokenPrefix: String?
    /// The access log (`RUST_LOG`'s level for it decides whether a line is formatted at all).
    let accessLogger: Logger
    /// Writes the access log's lines whole, when the server's log format allows (`FastAccessLog`).
    let fastLog: (any FastAccessLog)?
    let metrics: ServerMetrics?

    /// Files up to this size are read into the response at once; larger ones go out through `sendfile`.
    static let inlineLimit: Int64 = 64 * 1024

    public init(
        files: FileController, tokens: TokenMiddleware, accessLogger: Logger, fastLog: (any FastAccessLog)? = nil,
        metrics: ServerMetrics?
    ) {
        self.roots = files.roots.sorted { $0.key < $1.key }.map {
            Root(name: Array($0.key.utf8), repo: $0.key, root: $0.value)
        }
        self.verifiedTokens = tokens.repoVerified
        self.tokenPrefix = tokens.tokenPrefix
        self.accessLogger = accessLogger
        self.fastLog = fastLog
        self.metrics = metrics
    }

    /// Whether answers are logged at all.
    var logsAccess: Bool { accessLogger.logLevel <= .info }

    /// What a request head asks the fast path for; the ranges are offsets in the request target's bytes.
    struct Target {
        /// The repository: its root, and its name for the log metadata.
        let repo: Root
        /// The path below the repository root (checked segments joined by `/`).
        let relative: Range<Int>
        /// The last segment: the content type and disposition come from it.
        let name: Range<Int>
        let method: WireRequestHead.Method
    }

    /// The file a plain `GET` or `HEAD` of `uri` asks for (the head already read by `WireRequestHead`, which left
    /// out every header that makes the answer anything but a plain 200), when the fast path may answer it; nil hands
    /// the request to the router. `authorized` decides the request's `Authorization` header (`acceptedExpiry`), and is
    /// asked only for a path the fast path would serve.
    func target(method: WireRequestHead.Method, uri: UnsafeRawBufferPointer, authorized: () -> Bool) -> Target? {
        let prefix = Self.repoPrefix
        let prefixCount = prefix.utf8CodeUnitCount
        guard uri.count > prefixCount, let start = uri.baseAddress, memcmp(start, prefix.utf8Start, prefixCount) == 0
        else { return nil }
        guard let (slash, lastSlash) = Self.plainSegments(uri, from: prefixCount) else { return nil }
        let repoName = UnsafeRawBufferPointer(rebasing: uri[prefixCount..<slash])
        guard
            let root = roots.first(where: { root in
                root.name.count == repoName.count
                    && root.name.withUnsafeBytes { name in
                        name.baseAddress.map { memcmp($0, start + prefixCount, repoName.count) == 0 } ?? false
                    }
            })
        else { return nil }
        let relative = (slash + 1)..<uri.count
        // `media` may be a symlink to another disk, by design.
        let media: StaticString = "media/"
        if relative.count > media.utf8CodeUnitCount,
            memcmp(start + relative.lowerBound, media.utf8Start, media.utf8CodeUnitCount) == 0
        {
            return nil
        }
        let name = (lastSlash + 1)..<uri.count
        if DownloadProtection.examines(name: UnsafeRawBufferPointer(rebasing: uri[name])) { return nil }
        guard authorized() else { return nil }
        return Target(repo: root, relative: relative, name: name, method: method)
    }

    static let repoPrefix: StaticString = "/repo/"

    /// For the bytes of `uri` from `start` (just after a `/`): the first and the last `/` among them, when they are
    /// segments the fast path takes: at least two, every one non-empty, of the plain characters (`isPlain`), and not
    /// starting with `.` (the router's segment rules would refuse or rewrite anything else); nil otherwise.
    ///
    /// Without a branch per byte (a request target is some 90 bytes of random hex digits, and this was the fast
    /// path's own hottest loop: the compiler's branches for `isPlain` and `/` mispredicted): flaws are gathered in
    /// `bad` with arithmetic only.
    static func plainSegments(_ uri: UnsafeRawBufferPointer, from start: Int) -> (first: Int, last: Int)? {
        guard start >= 0, start < uri.count else { return nil }
        // `isPlain`'s two words, `/` added, and two empty words for the bytes from 128: indexed by `byte >> 6`.
        let words = (plainBelow64 | 1 << 47, plainBelow128, UInt64(0), UInt64(0))
        var bad: UInt64 = 0
        var afterSlash: UInt64 = 1
        withUnsafeBytes(of: words) { words in
            for index in start..<uri.count {
                let byte = uri[index]
                let word = words.load(fromByteOffset: Int(byte >> 6) &* 8, as: UInt64.self)
                let allowed = (word >> UInt64(byte & 63)) & 1
                // 1 when the byte is `/` (or `.`), else 0: `x - 1` has its top bit set only for x == 0.
                let slash = (UInt64(byte ^ UInt8(ascii: "/")) &- 1) >> 63
                let dot = (UInt64(byte ^ UInt8(ascii: ".")) &- 1) >> 63
                bad |= (allowed ^ 1) | (afterSlash & (slash | dot))
                afterSlash = slash
            }
        }
        // A flaw, or an empty last segment.
        guard bad == 0, afterSlash == 0 else { return nil }
        var first = start
        while first < uri.count, uri[first] != UInt8(ascii: "/") { first += 1 }
        var last = uri.count - 1
        while last > first, uri[last] != UInt8(ascii: "/") { last -= 1 }
        // Only one segment.
        guard first < uri.count else { return nil }
        return (first, last)
    }

    /// `[A-Za-z0-9._+,=@~-]`: what ostree's object, ref, delta and summary names are made of: one bit per byte in
    /// two words (the bytes below 64, and those from 64 to 127).
    @inline(__always)
    static func isPlain(_ byte: UInt8) -> Bool {
        let word: UInt64 = byte < 64 ? plainBelow64 : (byte < 128 ? plainBelow128 : 0)
        return (word >> UInt64(byte & 63)) & 1 == 1
    }

    /// `+ , - . 0-9 =` and `@ A-Z _ a-z ~`, one bit per byte.
    static let plainBelow64: UInt64 = 0x23ff_7800_0000_0000
    static let plainBelow128: UInt64 = 0x47ff_fffe_87ff_ffff

    /// When an `Authorization` header's token lets the fast path serve a file, the token's expiry: the router has
    /// verified it before, and it has no `jti` (the repo routes use no claims for plain files; a bad token must still
    /// get the router's 401, and a revocable one the router's check).
    func acceptedExpiry(_ value: String) -> Int64? {
        guard let token = try? AuthorizationHeader.token(from: value, tokenPrefix: tokenPrefix),
            let claims = verifiedTokens.knownClaims(of: token), claims.jti == nil
        else { return nil }
        return claims.exp
    }

    /// Writes the access-log line `message` (the router's format, written by the caller) with the router's metadata.
    func logAccess(message: UnsafeRawBufferPointer, repo: Root, requestID: UnsafeRawBufferPointer) {
        if let fastLog {
            repo.name.withUnsafeBytes { fastLog.info(repo: $0, requestID: requestID, message: message) }
            return
        }
        let metadata: Logger.Metadata = [
            "request_id": .string(String(decoding: requestID, as: UTF8.self)), "repo": .string(repo.repo),
        ]
        accessLogger.info(Logger.Message(stringLiteral: String(decoding: message, as: UTF8.self)), metadata: metadata)
    }
}

extension VerifiedTokens {
    /// The claims of a token this memo verified before, if still valid; nil for any other (never verified here).
    func knownClaims(of token: String, now: Int64 = Int64(time(nil))) -> Claims? {
        guard let claims = cached(token), claims.exp >= now else { return nil }
        return claims
    }
}
