import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a multipart body could not be parsed.
public enum MultipartError: Error, Sendable, Equatable {
    /// The request is not `multipart/*` or has no boundary.
    case notMultipart
    /// The body breaks the multipart syntax.
    case malformed(String)
    /// A part's header block exceeds the parser's limit.
    case headersTooLarge
    /// The body ended before the closing delimiter.
    case truncated

    /// A human-readable description for error responses and logs.
    public var message: String {
        switch self {
        case .notMultipart: "Request is not a multipart body with a boundary"
        case .malformed(let detail): "Malformed multipart body: \(detail)"
        case .headersTooLarge: "Multipart part headers too large"
        case .truncated: "Multipart body ended before the closing boundary"
        }
    }
}

/// What the parser found in the bytes fed so far.
public enum MultipartEvent: Sendable, Equatable {
    /// A new part starts; its header block.
    case headers(PartHeaders)
    /// The next piece of the current part's content (never empty).
    case body(ByteBuffer)
    /// The current part is complete.
    case end
}

/// A streaming (sans-IO) multipart parser: feed it the body in chunks of any size, get events back.
///
/// It keeps at most one delimiter's worth of body bytes between calls (a possible delimiter start),
/// so memory stays flat whatever the part size, and body events are zero-copy slices of the input.
/// Upstream's worst production bug was a parser that dropped a part when a chunk ended right after
/// `\r\n--`; here every scan restarts from the held-back bytes, so no split position is special.
public struct MultipartParser: Sendable {
    /// Where in the body the parser is.
    private enum State: Sendable {
        /// Before the first delimiter: bytes are ignored.
        case preamble
        /// Right after a delimiter: `--` (close), or optional padding then CRLF.
        case delimiterLine
        /// Inside a header block; `scanned` bytes are known not to start the terminating CRLFCRLF.
        case headers(scanned: Int)
        /// Inside a part's content.
        case body
        /// After the closing delimiter: bytes are ignored.
        case epilogue
    }

    /// Outcome of searching the pending bytes for the delimiter.
    private enum Scan {
        case found(Int)
        case partial(Int)
        case absent
    }

    /// `CRLF--boundary`: the delimiter including the line break that precedes it (RFC 2046).
    private let delimiter: [UInt8]
    private let maxHeaderBytes: Int
    private var pending: ByteBuffer
    private var state = State.preamble

    public init(boundary: String, maxHeaderBytes: Int = 16 * 1024) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maxHeaderBytes = maxHeaderBytes
        // A virtual CRLF lets a delimiter at the very start of the body match like any other.
        pending = ByteBuffer(bytes: [13, 10])
    }

    /// Consumes `buffer` and returns the events it completes, in order.
    public mutating func feed(_ buffer: ByteBuffer) throws(MultipartError) -> [MultipartEvent] {
        if case .epilogue = state { return [] }
        if pending.readableBytes == 0 {
            pending = buffer
        } else {
            // Long runs of tiny chunks (a slow preamble, huge headers) must not grow the storage forever.
            if pending.readerIndex >= 4096 { pending.discardReadBytes() }
            var incoming = buffer
            pending.writeBuffer(&incoming)
        }
        var events: [MultipartEvent] = []
        while try step(into: &events) {}
        return events
    }

    /// Declares the end of the body; throws unless the closing delimiter has been seen.
    public mutating func finish() throws(MultipartError) {
        switch state {
        case .epilogue: return
        case .preamble:
            // Held-back bytes are the start of a delimiter the body stopped in the middle of.
            if pending.readableBytes > 0 { throw .truncated }
            throw .malformed("no multipart boundary found")
        default: throw .truncated
        }
    }

    /// Advances through one state; returns false when more input is needed.
    private mutating func step(into events: inout [MultipartEvent]) throws(MultipartError) -> Bool {
        switch state {
        case .preamble: return skipPreamble()
        case .body: return scanBody(into: &events)
        case .delimiterLine: return try readDelimiterLine()
        case .headers(let scanned): return try readHeaders(scanned: scanned, into: &events)
        case .epilogue:
            pending.clear()
            return false
        }
    }

    private mutating func skipPreamble() -> Bool {
        switch findDelimiter() {
        case .found(let offset):
            pending.moveReaderIndex(forwardBy: offset + delimiter.count)
            state = .delimiterLine
            return true
        case .partial(let offset):
            pending.moveReaderIndex(forwardBy: offset)
            return false
        case .absent:
            pending.moveReaderIndex(forwardBy: pending.readableBytes)
            return false
        }
    }

    private mutating func scanBody(into events: inout [MultipartEvent]) -> Bool {
        switch findDelimiter() {
        case .found(let offset):
            emitBody(offset, into: &events)
            pending.moveReaderIndex(forwardBy: delimiter.count)
            events.append(.end)
            state = .delimiterLine
            return true
        case .partial(let offset):
            emitBody(offset, into: &events)
            return false
        case .absent:
            emitBody(pending.readableBytes, into: &events)
            return false
        }
    }

    private mutating func emitBody(_ count: Int, into events: inout [MultipartEvent]) {
        guard count > 0, let slice = pending.readSlice(length: count) else { return }
        events.append(.body(slice))
    }

    /// After `--boundary`: either `--` (the close delimiter) or transport padding and CRLF.
    private mutating func readDelimiterLine() throws(MultipartError) -> Bool {
        let bytes = pending.readableBytesView
        guard bytes.count >= 2 else { return false }
        if bytes.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")]) {
            pending.clear()
            state = .epilogue
            return false
        }
        let padding = bytes.prefix { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.count
        pending.moveReaderIndex(forwardBy: padding)
        let rest = pending.readableBytesView
        if rest.isEmpty || (rest.count == 1 && rest.first == 13) { return false }
        guard rest.starts(with: [13, 10]) else { throw .malformed("unexpected characters after boundary") }
        // The CRLF stays: the header search looks for CRLFCRLF starting at it.
        state = .headers(scanned: 0)
        return true
    }

    private mutating func readHeaders(scanned: Int, into events: inout [MultipartEvent]) throws(MultipartError)
        -> Bool
    {
        let bytes = pending.readableBytesView
        guard let end = Self.findHeaderEnd(in: bytes, from: scanned) else {
            guard bytes.count - 2 <= maxHeaderBytes else { throw .headersTooLarge }
            state = .headers(scanned: max(0, bytes.count - 3))
            return false
        }
        guard end - 2 <= maxHeaderBytes else { throw .headersTooLarge }
        let block =
            end > 2
            ? bytes[(bytes.startIndex + 2)..<(bytes.startIndex + end)] : bytes[bytes.startIndex..<bytes.startIndex]
        let headers = try Self.parseHeaderBlock(block)
        pending.moveReaderIndex(forwardBy: end + 4)
        events.append(.headers(headers))
        state = .body
        return true
    }

    /// Offset of the first CRLFCRLF at or after `offset`, relative to the view's start.
    private static func findHeaderEnd(in bytes: ByteBufferView, from offset: Int) -> Int? {
        guard bytes.count >= 4, offset <= bytes.count - 4 else { return nil }
        let base = bytes.startIndex
        for position in offset...(bytes.count - 4)
        where bytes[base + position] == 13 && bytes[base + position + 1] == 10
            && bytes[base + position + 2] == 13 && bytes[base + position + 3] == 10
        {
            return position
        }
        return nil
    }

    /// Splits a header block into fields; continuation lines (obsolete folding) join the previous value.
    private static func parseHeaderBlock(_ block: ByteBufferView) throws(MultipartError) -> PartHeaders {
        var headers = PartHeaders()
        guard !block.isEmpty else { return headers }
        let text = String(decoding: block, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            if let first = line.first, first == " " || first == "\t", let last = headers.fields.indices.last {
                headers.fields[last].value += " " + HeaderParameters.trim(line)
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("part header line without a colon") }
            let name = HeaderParameters.trim(line[..<colon])
            guard !name.isEmpty else { throw .malformed("part header without a name") }
            headers.fields.append((name: name, value: HeaderParameters.trim(line[line.index(after: colon)...])))
        }
        return headers
    }

    /// Looks for the delimiter in the pending bytes: a full match, or a match cut off by the end of
    /// the data (those bytes must be kept until more arrive), or nothing.
    private func findDelimiter() -> Scan {
        delimiter.withUnsafeBytes { wanted in
            pending.withUnsafeReadableBytes { raw in
                guard let base = raw.baseAddress, let wantedBase = wanted.baseAddress else { return .absent }
                var position = 0
                while position < raw.count {
                    guard let hit = memchr(base + position, Int32(wanted[0]), raw.count - position) else {
                        return .absent
                    }
                    let offset = base.distance(to: UnsafeRawPointer(hit))
                    let available = min(wanted.count, raw.count - offset)
                    if memcmp(base + offset, wantedBase, available) == 0 {
                        return available == wanted.count ? .found(offset) : .partial(offset)
                    }
                    position = offset + 1
                }
                return .absent
            }
        }
    }
}
