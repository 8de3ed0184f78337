import Hummingbird
import Logging
import NIOCore
import NIOFileSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        let file = try FileIdentity(path: path)
        var headers = extraHeaders
        headers[.eTag] = file.eTag
        headers[.lastModified] = HTTPDate.format(secondsSinceEpoch: file.modifiedSeconds)
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = FileContentType.forFile(path)
        headers[.contentDisposition] = FileContentType.disposition(forFile: path)

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
        switch ByteRange.select(request.headers, file: file) {
        case .unsatisfiable:
            var errorHeaders = extraHeaders
            errorHeaders[.contentRange] = "bytes */\(file.size)"
            return Response(status: .rangeNotSatisfiable, headers: errorHeaders)
        case .whole:
            return response(.ok, headers: headers, path: path, file: file, range: 0..<file.size, method: request.method)
        case .part(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(file.size)"
            return response(.partialContent, headers: headers, path: path, file: file, range: range, method: request.method)
        }
    }

    private func response(
        _ status: HTTPResponse.Status,
        headers: HTTPFields,
        path: String,
        file: FileIdentity,
        range: Range<Int64>,
        method: HTTPRequest.Method
    ) -> Response {
        var headers = headers
        headers[.contentLength] = String(range.count)
        guard method != .head else { return Response(status: status, headers: headers) }
        let logger = self.logger
        let body = ResponseBody(contentLength: Int(range.count)) { writer in
            do {
                try await Self.stream(path: path, file: file, range: range, to: &writer)
            } catch {
                logger.error("Failed to stream \(path): \(error)")
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
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
            let info = try await handle.info()
            guard info.size == file.size, info.platformSpecificStatus.map({ Int64(bitPattern: UInt64($0.st_ino)) }) == file.inode else {
                throw FileServingError.notFound
            }
            for try await chunk in handle.readChunks(in: range, chunkLength: chunkLength) {
                try await writer.write(chunk)
            }
        }
    }
}

/// What `stat` says about a file: enough for validators and for noticing a replacement.
struct FileIdentity: Sendable {
    var inode: Int64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int

    /// Stats `path` (following symlinks); only regular files qualify.
    init(path: String) throws(FileServingError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .notFound }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { throw .isDirectory }
        guard type == S_IFREG else { throw .notFound }
        inode = Int64(bitPattern: UInt64(info.st_ino))
        size = Int64(info.st_size)
        #if canImport(Darwin)
            modifiedSeconds = Int(info.st_mtimespec.tv_sec)
            modifiedNanoseconds = Int(info.st_mtimespec.tv_nsec)
        #else
            modifiedSeconds = Int(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        #endif
    }

    /// A strong validator that changes whenever the file is replaced or rewritten.
    var eTag: String {
        let parts = [inode, size, Int64(modifiedSeconds), Int64(modifiedNanoseconds)]
        return "\"" + parts.map { String(UInt64(bitPattern: $0), radix: 16) }.joined(separator: "-") + "\""
    }
}
