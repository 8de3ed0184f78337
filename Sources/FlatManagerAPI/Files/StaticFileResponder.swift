import Hummingbird
import Logging
import NIOCore
import NIOFileSystem

/// Serves one file with the static-file semantics ostree/libcurl clients rely on (api.md §7.2):
/// validators and conditional requests, single byte ranges, HEAD, and streaming in chunks.
/// Files are never compressed on the fly and a `.gz` file is just bytes (no `Content-Encoding`).
public struct StaticFileResponder: Sendable {
    /// Size of the pieces a file is streamed in.
    private static let chunkLength = ByteCount.kibibytes(128)

    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Serves `path` (absolute, already confined) for GET or HEAD; `extraHeaders` (e.g.
    /// `Cache-Control: no-store`) go on every response, including 304/412/416.
    /// Throws `FileServingError.notFound` or `.isDirectory` when there is no regular file.
    public func respond(to request: Request, path: String, extraHeaders: HTTPFields = [:]) async throws -> Response {
        let file = try await FileIdentity.of(path: path)
        let logger = self.logger
        return Self.answer(request, file: file, name: path, extraHeaders: extraHeaders) { range in
            ResponseBody(contentLength: Int(range.count)) { writer in
                do {
                    try await Self.stream(path: path, file: file, range: range, to: &writer)
                } catch {
                    logger.error("Failed to stream \(path): \(error)")
                    throw error
                }
                try await writer.finish(nil)
            }
        }
    }

    /// The response for `file` (named `name`, whose last component gives the content type): validators,
    /// preconditions, range selection and HEAD; `body` makes the body for the byte range a GET answers.
    static func answer(
        _ request: Request, file: FileIdentity, name: String, extraHeaders: HTTPFields,
        body: (Range<Int64>) throws -> ResponseBody
    ) rethrows -> Response {
        var headers = extraHeaders
        headers.reserveCapacity(extraHeaders.count + 8)
        headers[.eTag] = file.eTag
        headers[.lastModified] = HTTPDate.format(secondsSinceEpoch: file.modifiedSeconds)
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = FileContentType.forFile(name)
        headers[.contentDisposition] = FileContentType.disposition(forFile: name)

        switch Preconditions.evaluate(request.headers, file: file) {
        case .proceed:
            break
        case .notModified:
            // RFC 9110 §8.6: a 304 may carry only the length a 200 would have had, never 0.
            headers[.contentLength] = String(file.size)
            return Response(status: .notModified, headers: headers)
        case .failed:
            return Response(status: .preconditionFailed, headers: extraHeaders)
        }
        let status: HTTPResponse.Status
        let range: Range<Int64>
        switch ByteRange.select(request.headers, file: file) {
        case .unsatisfiable:
            var errorHeaders = extraHeaders
            errorHeaders[.contentRange] = "bytes */\(file.size)"
            return Response(status: .rangeNotSatisfiable, headers: errorHeaders)
        case .whole:
            (status, range) = (.ok, 0..<file.size)
        case .part(let part):
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound - 1)/\(file.size)"
            (status, range) = (.partialContent, part)
        }
        headers[.contentLength] = String(range.count)
        guard request.method != .head else { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: try body(range))
    }

    /// Streams `range` of the file; refuses if the path now names a different file than the one
    /// whose size went out in the headers (e.g. `summary` replaced in between), so the client
    /// sees a broken transfer rather than a mix of two files.
    private static func stream(
        path: String,
        file: FileIdentity,
        range: Range<Int64>,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            guard try await FileIdentity(handle.info()) == file else { throw FileServingError.notFound }
            for try await chunk in handle.readChunks(in: range, chunkLength: chunkLength) {
                try await writer.write(chunk)
            }
        }
    }
}

/// What the file system says about a file: enough for validators and for noticing a replacement.
///
/// The ETag is built from size, modification time and status-change time: NIOFileSystem does not
/// expose the inode without C struct access, and the status-change time serves the same purpose —
/// it is new for every file created or renamed into place, so a replaced file gets a new tag.
struct FileIdentity: Sendable, Equatable {
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int
    var changedSeconds: Int
    var changedNanoseconds: Int

    init(size: Int64, modifiedSeconds: Int, modifiedNanoseconds: Int, changedSeconds: Int, changedNanoseconds: Int) {
        self.size = size
        self.modifiedSeconds = modifiedSeconds
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedSeconds = changedSeconds
        self.changedNanoseconds = changedNanoseconds
    }

    init(_ info: FileInfo) {
        size = info.size
        modifiedSeconds = info.lastDataModificationTime.seconds
        modifiedNanoseconds = info.lastDataModificationTime.nanoseconds
        changedSeconds = info.lastStatusChangeTime.seconds
        changedNanoseconds = info.lastStatusChangeTime.nanoseconds
    }

    /// Looks `path` up (following symlinks); only regular files qualify.
    static func of(path: String) async throws(FileServingError) -> FileIdentity {
        let found: FileInfo?
        do {
            found = try await FileSystem.shared.info(forFileAt: FilePath(path), infoAboutSymbolicLink: false)
        } catch {
            throw .notFound
        }
        guard let info = found else { throw .notFound }
        if info.type == .directory { throw .isDirectory }
        guard info.type == .regular else { throw .notFound }
        return FileIdentity(info)
    }

    /// A strong validator that changes whenever the file is replaced or rewritten: `"size-mtime-mtimens-ctime-ctimens"`
    /// in lowercase hex (two's complement for negatives), as `writeETag(into:)` writes it.
    var eTag: String {
        String(unsafeUninitializedCapacity: Self.eTagCapacity) { buffer in
            var cursor = ByteCursor(UnsafeMutableRawBufferPointer(buffer))
            writeETag(into: &cursor)
            return cursor.count
        }
    }

    /// The most bytes `eTag` takes: two quotes, five numbers of up to 16 hex digits, four dashes.
    static let eTagCapacity = 2 + 5 * 16 + 4
}
