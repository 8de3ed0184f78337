#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request head as `RepoWireHandler` reads it from the connection's bytes, before NIO's HTTP decoder (issue #13).
///
/// The reader is strict on purpose: it only reports heads it understands exactly the way the HTTP decoder would (a
/// `GET` or `HEAD` in HTTP/1.1 with CRLF lines, token header names, no body, the connection kept alive). Anything
/// else is `.passthrough`, and the decoder and the router see the connection's bytes from there on, untouched.
struct WireRequestHead: Equatable {
    enum Method: Equatable { case get, head }

    /// Bytes of the head, the empty line included.
    var length: Int
    var method: Method
    /// Offsets of the request target in the scanned bytes.
    var uri: Range<Int>
    /// The `Authorization` value (trimmed), when there is exactly one.
    var authorization: Range<Int>?
    /// The first `User-Agent` value (trimmed).
    var userAgent: Range<Int>?
    /// No header makes the answer anything but a plain 200 of the whole file: no `Range` or conditional header, and
    /// at most one `Authorization`.
    var plain: Bool
    /// The lines of an `h2c` upgrade request (`Upgrade: h2c`, `HTTP2-Settings`, a `Connection` naming `upgrade`):
    /// libostree's curl asks for one on every new plain-http connection. The fast path ignores it, as a server may;
    /// a head handed to the router goes without these lines, so that the connection stays a keep-alive HTTP/1.1 one
    /// (NIO's decoder would stop parsing after an upgrade request, and the connection would have to close).
    var upgradeLines: [Range<Int>]

    /// What the bytes at the start of a connection's unread input are.
    enum Scan: Equatable {
        /// Not a whole head yet; read more.
        case incomplete
        /// Not a head this reader takes: the decoder gets these and all later bytes.
        case passthrough
        /// A bodiless keep-alive `GET` or `HEAD`.
        case request(WireRequestHead)
    }

    /// Heads longer than this are left to the decoder (its own limits apply); real ones are a few hundred bytes.
    static let maximumLength = 8 * 1024

    /// Reads the head at the start of `bytes`.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> Scan {
        let count = bytes.count
        // The method: decide as soon as the first bytes say it is neither `GET ` nor `HEAD `.
        let method: Method
        let methodLength: Int
        if startsWith(bytes, "GET ") {
            (method, methodLength) = (.get, 4)
        } else if startsWith(bytes, "HEAD ") {
            (method, methodLength) = (.head, 5)
        } else {
            let partial = count < 5 && (isPrefix(bytes, of: "GET ") || isPrefix(bytes, of: "HEAD "))
            return partial ? .incomplete : .passthrough
        }
        // The request line: `<method> <target> HTTP/1.1\r\n`.
        guard let lineEnd = lineFeed(in: bytes, from: methodLength) else {
            return count > maximumLength ? .passthrough : .incomplete
        }
        let versionStart = lineEnd - 9  // "HTTP/1.1\r"
        guard versionStart > methodLength + 1, bytes[lineEnd - 1] == cr, bytes[versionStart - 1] == space,
            matches(bytes, at: versionStart, "HTTP/1.1")
        else { return .passthrough }
        let uri = methodLength..<(versionStart - 1)
        for index in uri where bytes[index] <= space || bytes[index] >= 0x7f { return .passthrough }

        var head = WireRequestHead(
            length: 0, method: method, uri: uri, authorization: nil, userAgent: nil, plain: true, upgradeLines: [])
        var authorizations = 0
        var lineStart = lineEnd + 1
        while true {
            guard lineStart < count else { return count > maximumLength ? .passthrough : .incomplete }
            guard let end = lineFeed(in: bytes, from: lineStart) else {
                return count > maximumLength ? .passthrough : .incomplete
            }
            guard end > lineStart, bytes[end - 1] == cr else { return .passthrough }  // A bare LF.
            if end == lineStart + 1 {
                head.length = end + 1
                break
            }
            guard end < maximumLength else { return .passthrough }
            // `name: value`: a token name, then the value without its surrounding blanks.
            var colon = lineStart
            while colon < end - 1, token[Int(bytes[colon])] { colon += 1 }
            guard colon > lineStart, colon < end - 1, bytes[colon] == colonByte else { return .passthrough }
            var valueStart = colon + 1
            var valueEnd = end - 1
            while valueStart < valueEnd, bytes[valueStart] == space || bytes[valueStart] == tab { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == space || bytes[valueEnd - 1] == tab { valueEnd -= 1 }
            for index in valueStart..<valueEnd where !fieldByte(bytes[index]) { return .passthrough }
            let name = lineStart..<colon
            let value = valueStart..<valueEnd
            switch Field(bytes, name) {
            case .contentLength:
                guard value.count == 1, bytes[value.lowerBound] == UInt8(ascii: "0") else { return .passthrough }
            case .transferEncoding, .expect:
                return .passthrough
            case .connection:
                switch connectionTokens(bytes, value) {
                case .keepAlive: break
                case .upgrade: head.upgradeLines.append(lineStart..<(end + 1))
                case .other: return .passthrough
                }
            case .upgrade:
                // Only h2c is ignored; a websocket (a delta worker) or anything else is the upgrade handler's.
                guard equalsIgnoringCase(bytes, value, "h2c") else { return .passthrough }
                head.upgradeLines.append(lineStart..<(end + 1))
            case .http2Settings:
                head.upgradeLines.append(lineStart..<(end + 1))
            case .authorization:
                authorizations += 1
                head.authorization = value
            case .userAgent:
                if head.userAgent == nil { head.userAgent = value }
            case .conditional:
                head.plain = false
            case .other:
                break
            }
            lineStart = end + 1
        }
        if authorizations > 1 {
            head.plain = false
            head.authorization = nil
        }
        return .request(head)
    }

    // MARK: - Bytes

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let colonByte = UInt8(ascii: ":")

    /// RFC 9110 `tchar`.
    private static let token: [Bool] = (0..<256).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(value))
        }
    }

    /// A byte a field value may hold: visible ASCII, blanks, and obs-text.
    private static func fieldByte(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= space && byte != 0x7f)
    }

    private static func lineFeed(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let count = min(bytes.count, maximumLength + 1)
        guard start < count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(lf), count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count >= text.utf8CodeUnitCount && matches(bytes, at: 0, text)
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, at start: Int, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in
            guard start + expected.count <= bytes.count else { return false }
            for index in 0..<expected.count where bytes[start + index] != expected[index] { return false }
            return true
        }
    }

    private static func isPrefix(_ bytes: UnsafeRawBufferPointer, of text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in
            guard bytes.count <= expected.count else { return false }
            for index in 0..<bytes.count where bytes[index] != expected[index] { return false }
            return true
        }
    }

    /// ASCII case-insensitive comparison of `range` with a lowercase `lower`.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lower: StaticString)
        -> Bool
    {
        lower.withUTF8Buffer { expected in
            guard range.count == expected.count else { return false }
            var position = 0
            for index in range {
                let byte = bytes[index]
                let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                guard folded == expected[position] else { return false }
                position += 1
            }
            return true
        }
    }

    /// The header fields the reader cares about.
    private enum Field: Equatable {
        case contentLength, transferEncoding, expect, connection, upgrade, http2Settings, authorization, userAgent
        case conditional, other

        init(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) {
            func named(_ text: StaticString) -> Bool { WireRequestHead.equalsIgnoringCase(bytes, name, text) }
            switch name.count {
            case 5 where named("range"): self = .conditional
            case 6 where named("expect"): self = .expect
            case 7 where named("upgrade"): self = .upgrade
            case 8 where named("if-match"), 8 where named("if-range"): self = .conditional
            case 10 where named("connection"): self = .connection
            case 10 where named("user-agent"): self = .userAgent
            case 13 where named("authorization"): self = .authorization
            case 13 where named("if-none-match"): self = .conditional
            case 14 where named("content-length"): self = .contentLength
            case 14 where named("http2-settings"): self = .http2Settings
            case 17 where named("if-modified-since"): self = .conditional
            case 17 where named("transfer-encoding"): self = .transferEncoding
            case 19 where named("if-unmodified-since"): self = .conditional
            default: self = .other
            }
        }
    }

    private enum ConnectionTokens { case keepAlive, upgrade, other }

    /// `keep-alive` alone; `upgrade` when the list names `upgrade` (and maybe `http2-settings` and `keep-alive`);
    /// `other` for `close` or any other option (the decoder and the router decide those).
    private static func connectionTokens(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> ConnectionTokens {
        var sawUpgrade = false
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var first = start
            var last = end
            while first < last, bytes[first] == space || bytes[first] == tab { first += 1 }
            while last > first, bytes[last - 1] == space || bytes[last - 1] == tab { last -= 1 }
            let item = first..<last
            if equalsIgnoringCase(bytes, item, "upgrade") {
                sawUpgrade = true
            } else if !(equalsIgnoringCase(bytes, item, "keep-alive")
                || equalsIgnoringCase(bytes, item, "http2-settings") || item.isEmpty)
            {
                return .other
            }
            start = end + 1
        }
        return sawUpgrade ? .upgrade : .keepAlive
    }
}
