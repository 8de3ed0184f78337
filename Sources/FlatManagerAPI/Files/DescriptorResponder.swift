import Hummingbird
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open file descriptor, closed when the last reference goes: when the response body has been written, or when
/// the response is dropped unwritten (a client that hung up), so that no path leaks it.
final class OpenFile: Sendable {
    let descriptor: Int32

    init(taking descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// `fstat(2)` of the file: its identity for validators; `.isDirectory` or `.notFound` unless a regular file.
    func identity() throws(FileServingError) -> FileIdentity {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .notFound }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { throw .isDirectory }
        guard type == S_IFREG else { throw .notFound }
        return FileIdentity(stat: info)
    }

    /// Reads `count` bytes at `offset` into a new buffer with `pread(2)`; nil on an error or a short file (one that
    /// shrank after `fstat`).
    func read(count: Int, at offset: Int64) -> ByteBuffer? {
        Self.read(descriptor, count: count, at: offset, allocator: ByteBufferAllocator())
    }

    /// `pread(2)` of `count` bytes at `offset` of `descriptor` into a new buffer; nil on an error or a short file.
    static func read(_ descriptor: Int32, count: Int, at offset: Int64, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var buffer = allocator.buffer(capacity: count)
        return append(descriptor, count: count, at: offset, to: &buffer) ? buffer : nil
    }

    /// `pread(2)` of `count` bytes at `offset` of `descriptor` onto the end of `buffer`; false on an error or a short
    /// file (what was read stays in `buffer`: the caller drops it).
    static func append(_ descriptor: Int32, count: Int, at offset: Int64 = 0, to buffer: inout ByteBuffer) -> Bool {
        var done = 0
        while done < count {
            var result = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { space in
                result = pread(descriptor, space.baseAddress, count - done, off_t(offset) + off_t(done))
                return max(result, 0)
            }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { return false }
            done += result
        }
        return true
    }
}

extension StaticFileResponder {
    /// Files up to this size are read whole at once, in the request's task: they come from the page cache in
    /// microseconds (ostree objects are mostly small), and a hop to a thread pool would cost more than the read.
    static let inlineLimit: Int64 = 256 * 1024
    /// Larger files are read in pieces of this size on NIO's blocking-I/O thread pool.
    static let pieceLength: Int64 = 1024 * 1024

    /// Serves an already opened and confined file (taken over: closed when the response is done), with the same
    /// semantics as `respond(to:path:extraHeaders:)`. Reading a descriptor, not a path, no replacement of the file
    /// between the headers and the body can mix two files.
    func respond(to request: Request, file: OpenFile, name: String, extraHeaders: HTTPFields = [:]) throws
        -> Response
    {
        let identity = try file.identity()
        return try Self.answer(request, file: identity, name: name, extraHeaders: extraHeaders) { range in
            let count = Int(range.count)
            if range.count <= Self.inlineLimit {
                guard let buffer = file.read(count: count, at: range.lowerBound) else {
                    throw FileServingError.notFound
                }
                return ResponseBody(byteBuffer: buffer)
            }
            return ResponseBody(contentLength: count) { writer in
                var offset = range.lowerBound
                while offset < range.upperBound {
                    let length = Int(min(Self.pieceLength, range.upperBound - offset))
                    let start = offset
                    let piece = try await NIOThreadPool.singleton.runIfActive { file.read(count: length, at: start) }
                    guard let piece else { throw FileServingError.notFound }
                    try await writer.write(piece)
                    offset += Int64(length)
                }
                try await writer.finish(nil)
            }
        }
    }
}
