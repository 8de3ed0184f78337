import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A `multipart/form-data` body of files, streamed from disk chunk by chunk (0.5's format: parts named `fileN`
/// with `filename` and `Content-Type: application/octet-stream`).
struct MultipartBody: Sendable {
    let boundary: String
    let items: [UploadItem]

    init(items: [UploadItem], boundary: String = MultipartBody.randomBoundary()) {
        self.items = items
        self.boundary = boundary
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// The header block written before part `index`.
    func partHeader(_ index: Int) -> String {
        let lead = index == 0 ? "" : "\r\n"
        return lead + "--\(boundary)\r\n"
            + "Content-Disposition: form-data; name=\"file\(index)\"; filename=\"\(items[index].name)\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
    }

    var trailer: String { (items.isEmpty ? "" : "\r\n") + "--\(boundary)--\r\n" }

    /// The exact body length, for `Content-Length`.
    var length: Int64 {
        let headers = items.indices.reduce(0) { $0 + Int64(partHeader($1).utf8.count) }
        return headers + items.reduce(0) { $0 + $1.size } + Int64(trailer.utf8.count)
    }

    func makeStream() -> MultipartStream { MultipartStream(body: self) }

    static func randomBoundary() -> String {
        (0..<32).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
    }
}

/// The bytes of a `MultipartBody`: headers, file contents and trailer, packed into chunks of about `chunkSize`
/// bytes, so many small objects travel in few large writes instead of two small buffers each.
struct MultipartStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: MultipartBody

    func makeAsyncIterator() -> Iterator { Iterator(body: body) }

    /// Walks the parts; a file is open only while its bytes are being read.
    struct Iterator: AsyncIteratorProtocol {
        let body: MultipartBody
        var nextIndex = 0
        /// The open file of the part being read and how many of its bytes are still to come.
        var file: OpenFile?
        var remaining: Int64 = 0
        var finished = false

        static let chunkSize = 512 * 1024

        init(body: MultipartBody) { self.body = body }

        mutating func next() async throws -> ByteBuffer? {
            if finished { return nil }
            var chunk = ByteBuffer()
            chunk.reserveCapacity(Self.chunkSize)
            while chunk.readableBytes < Self.chunkSize {
                if let file {
                    try readFile(file.descriptor, into: &chunk)
                    continue
                }
                guard nextIndex < body.items.count else {
                    chunk.writeString(body.trailer)
                    finished = true
                    break
                }
                try openPart(nextIndex, into: &chunk)
                nextIndex += 1
            }
            return chunk
        }

        private mutating func openPart(_ index: Int, into chunk: inout ByteBuffer) throws {
            let item = body.items[index]
            let descriptor = open(item.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw ClientError.exception(type: "io", message: "Cannot open \(item.path): errno \(errno)")
            }
            file = OpenFile(descriptor)
            remaining = item.size
            chunk.writeString(body.partHeader(index))
        }

        /// Reads as much of the open file as fits in the chunk; closes it at its end.
        private mutating func readFile(_ descriptor: Int32, into chunk: inout ByteBuffer) throws {
            let wanted = Int(Swift.min(Int64(Swift.max(Self.chunkSize - chunk.readableBytes, 64 * 1024)), remaining))
            var readError: Int32 = 0
            if wanted > 0 {
                let count = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { buffer in
                    let result = read(descriptor, buffer.baseAddress, wanted)
                    if result < 0 { readError = errno }
                    return Swift.max(0, result)
                }
                if readError == EINTR { return }
                if readError != 0 {
                    closeFile()
                    throw ClientError.exception(type: "io", message: "Cannot read object: errno \(readError)")
                }
                remaining -= Int64(count)
                if count == 0 && remaining > 0 {
                    closeFile()
                    throw ClientError.exception(type: "io", message: "File changed size during upload")
                }
            }
            if remaining <= 0 { closeFile() }
        }

        private mutating func closeFile() { file = nil }
    }
}

/// An open file descriptor, closed when the last reference goes — also when an upload is abandoned midway.
final class OpenFile {
    let descriptor: Int32

    init(_ descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }
}
