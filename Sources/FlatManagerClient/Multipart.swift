import Foundation
import NIOCore
import NIOFoundationCompat

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

/// The bytes of a `MultipartBody`: each header, then the file read in chunks, then the trailer.
struct MultipartStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: MultipartBody

    func makeAsyncIterator() -> Iterator { Iterator(body: body) }

    /// Walks the parts; a file is open only while its bytes are being sent.
    struct Iterator: AsyncIteratorProtocol {
        let body: MultipartBody
        var nextIndex = 0
        var file: FileHandle?
        var remaining: Int64 = 0
        var finished = false

        static let chunkSize = 256 * 1024

        init(body: MultipartBody) { self.body = body }

        mutating func next() async throws -> ByteBuffer? {
            if let file {
                return try readChunk(file)
            }
            if finished { return nil }
            guard nextIndex < body.items.count else {
                finished = true
                return ByteBuffer(string: body.trailer)
            }
            let item = body.items[nextIndex]
            guard let handle = FileHandle(forReadingAtPath: item.path) else {
                throw ClientError.exception(type: "io", message: "Cannot open \(item.path)")
            }
            file = handle
            remaining = item.size
            let header = body.partHeader(nextIndex)
            nextIndex += 1
            return ByteBuffer(string: header)
        }

        private mutating func readChunk(_ handle: FileHandle) throws -> ByteBuffer {
            let wanted = Int(Swift.min(Int64(Self.chunkSize), remaining))
            let data = wanted > 0 ? try handle.read(upToCount: wanted) ?? Data() : Data()
            remaining -= Int64(data.count)
            if remaining <= 0 || data.isEmpty {
                try handle.close()
                file = nil
                if remaining > 0 {
                    throw ClientError.exception(type: "io", message: "File changed size during upload")
                }
            }
            return ByteBuffer(data: data)
        }
    }
}
