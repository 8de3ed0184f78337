import CompressNIO
import Crypto
import Foundation
import NIOCore

/// Why an uploaded object was rejected.
public enum ObjectVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are well-formed but hash to something else than their name says.
    case checksumMismatch(expected: String, actual: String)
    /// The inflated content of a `.filez` is not as long as its header says.
    case sizeMismatch(expected: UInt64, actual: UInt64)
    /// The bytes are not a valid object of the named type.
    case malformed(String)

    public var description: String {
        switch self {
        case .checksumMismatch(let expected, let actual):
            return "Corrupted object: expected checksum \(expected), got \(actual)"
        case .sizeMismatch(let expected, let actual):
            return "Corrupted file object: header says \(expected) bytes, content has \(actual)"
        case .malformed(let reason):
            return "Corrupted object: \(reason)"
        }
    }
}

/// Checks an uploaded object against its name while it streams in, with bounded memory.
///
/// Metadata objects (`.dirtree`, `.dirmeta`, `.commit`) are named by the SHA-256 of their bytes. A `.filez`
/// (archive-z2 file object) is `BE u32 header size, 4 zero bytes, (tuuuusa(ayay)) header, raw deflate content`,
/// and is named by the SHA-256 of the canonical file header `(uuuusa(ayay))` (same size prefix) followed by the
/// *uncompressed* content; see ostree's `ostree_checksum_file_from_input`.
///
/// A copy made in the middle of a `.filez` shares the inflater with the original: use one verifier per stream.
public struct ObjectVerifier: Sendable {
    /// Where in a `.filez` the stream is.
    private enum Stage {
        case metadata, sizePrefix, header, content, symlinkEnd
    }

    /// The largest `.filez` header accepted (it holds only ids, a mode, a symlink target and xattrs).
    static let maximumHeaderSize = 1 << 20

    public let name: ObjectName
    private var stage: Stage
    private var hasher = SHA256()
    /// Bytes of the size prefix or header collected so far (never more than `maximumHeaderSize + 8`).
    private var pending: [UInt8] = []
    private var headerSize = 0
    private var expectedSize: UInt64 = 0
    private var contentSize: UInt64 = 0
    private var inflater: Inflater?

    public init(_ name: ObjectName) {
        self.name = name
        self.stage = name.type == .filez ? .sizePrefix : .metadata
    }

    /// Feeds the next bytes of the object. Throws as soon as the data is known to be bad.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            switch stage {
            case .metadata:
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: rest))
                return
            case .sizePrefix:
                take(from: &rest, upTo: 8)
                if pending.count == 8 { try startHeader() }
            case .header:
                take(from: &rest, upTo: headerSize)
                if pending.count == headerSize { try finishHeader() }
            case .content:
                try inflate(UnsafeRawBufferPointer(rebasing: rest))
                return
            case .symlinkEnd:
                throw ObjectVerificationError.malformed("data after a symbolic link's header")
            }
        }
    }

    /// Ends the stream: throws unless the object is complete and its checksum is its name.
    public mutating func finish() throws {
        switch stage {
        case .metadata, .symlinkEnd:
            break
        case .sizePrefix, .header:
            throw ObjectVerificationError.malformed("truncated file header")
        case .content:
            guard let inflater, try inflater.isAtEnd() else {
                throw ObjectVerificationError.malformed("truncated compressed content")
            }
            guard contentSize == expectedSize else {
                throw ObjectVerificationError.sizeMismatch(expected: expectedSize, actual: contentSize)
            }
        }
        let actual = Hex.encode(hasher.finalize())
        guard actual == name.checksum else {
            throw ObjectVerificationError.checksumMismatch(expected: name.checksum, actual: actual)
        }
    }

    /// Moves up to `limit - pending.count` bytes from `rest` into `pending`.
    private mutating func take(from rest: inout Slice<UnsafeRawBufferPointer>, upTo limit: Int) {
        let count = min(limit - pending.count, rest.count)
        pending.append(contentsOf: rest.prefix(count))
        rest = rest.dropFirst(count)
    }

    private mutating func startHeader() throws {
        headerSize = try FileHeader.headerSize(prefix: pending)
        pending = []
        pending.reserveCapacity(headerSize)
        stage = .header
    }

    /// Parses `(tuuuusa(ayay))`, hashes the canonical `(uuuusa(ayay))` and prepares for the content.
    private mutating func finishHeader() throws {
        let header = try FileHeader(zlibHeader: pending)
        pending = []
        expectedSize = header.size
        hasher.update(data: header.checksumPrefix())
        if header.isSymlink {
            guard header.size == 0 else { throw ObjectVerificationError.malformed("symbolic link with content") }
            stage = .symlinkEnd
        } else if header.isRegularFile {
            inflater = try Inflater()
            stage = .content
        } else {
            throw ObjectVerificationError.malformed("not a regular file or symbolic link")
        }
    }

    private mutating func inflate(_ bytes: UnsafeRawBufferPointer) throws {
        guard let inflater else { return }
        try inflater.inflate(bytes) { output in
            contentSize += UInt64(output.count)
            guard contentSize <= expectedSize else {
                throw ObjectVerificationError.sizeMismatch(expected: expectedSize, actual: contentSize)
            }
            hasher.update(bufferPointer: output)
        }
    }
}

/// The fields of an archive-z2 file header that matter for the checksum.
struct FileHeader {
    /// The uncompressed content size.
    let size: UInt64
    /// uid, gid, mode as stored (big-endian u32 each).
    let ids: [UInt8]
    let mode: UInt32
    let symlinkTarget: [UInt8]
    /// The serialised `a(ayay)`; its bytes do not depend on where it sits in the tuple.
    let xattrs: [UInt8]

    var isSymlink: Bool { mode & 0o170000 == 0o120000 }

    /// The size of the header that follows a `.filez`'s first 8 bytes (`prefix`): a big-endian `u32` in
    /// `1...ObjectVerifier.maximumHeaderSize`, then 4 zero bytes (ostree always writes zero padding; anything else
    /// would be bytes the checksum does not cover).
    static func headerSize(prefix: [UInt8]) throws -> Int {
        guard prefix.count == 8 else { throw ObjectVerificationError.malformed("truncated file header") }
        let size = Int(prefix[0]) << 24 | Int(prefix[1]) << 16 | Int(prefix[2]) << 8 | Int(prefix[3])
        guard size > 0, size <= ObjectVerifier.maximumHeaderSize else {
            throw ObjectVerificationError.malformed("file header size \(size) out of range")
        }
        guard prefix[4..<8].allSatisfy({ $0 == 0 }) else {
            throw ObjectVerificationError.malformed("non-zero padding after the header size")
        }
        return size
    }
    var isRegularFile: Bool { mode & 0o170000 == 0o100000 }

    /// Reads `(tuuuusa(ayay))`.
    init(zlibHeader bytes: [UInt8]) throws {
        let value = GVariantSlice(bytes)
        let parts: [GVariantSlice]
        do {
            parts = try GVariantReader.tuple(
                value, [.uint64, .uint32, .uint32, .uint32, .uint32, .string, .byteArray], what: "file header")
            _ = try GVariantReader.string(parts[5])
        } catch {
            throw ObjectVerificationError.malformed("invalid file header")
        }
        // ostree rejects device numbers in content objects; they are not covered by the checksum either.
        guard parts[4].bigEndian(at: 0, size: 4) == 0 else { throw ObjectVerificationError.malformed("invalid rdev") }
        size = parts[0].bigEndian(at: 0, size: 8)
        ids = parts[1].bytes + parts[2].bytes + parts[3].bytes
        mode = UInt32(parts[3].bigEndian(at: 0, size: 4))
        symlinkTarget = parts[5].bytes
        xattrs = parts[6].bytes
    }

    /// `BE u32 size, 4 zero bytes, (uuuusa(ayay))` with rdev 0, as ostree hashes it.
    func checksumPrefix() -> [UInt8] {
        var body = ids + [0, 0, 0, 0] + symlinkTarget
        let stringEnd = body.count
        body += xattrs
        let offsetSize: Int
        if body.count + 1 <= 0xff {
            offsetSize = 1
        } else if body.count + 2 <= 0xffff {
            offsetSize = 2
        } else {
            offsetSize = 4
        }
        for index in 0..<offsetSize { body.append(UInt8(truncatingIfNeeded: stringEnd >> (8 * index))) }
        let total = UInt32(body.count)
        return [
            UInt8(total >> 24), UInt8(total >> 16 & 0xff), UInt8(total >> 8 & 0xff), UInt8(total & 0xff), 0, 0, 0, 0,
        ]
            + body
    }
}

/// Incremental raw-deflate inflation through CompressNIO, with a fixed-size output window.
///
/// `@unchecked Sendable`: the zlib stream is owned by one `ObjectVerifier` and only touched through its
/// `mutating` methods, so it is never used from two threads at once.
final class Inflater: @unchecked Sendable {
    private let decompressor: ZlibDecompressor
    private var output: ByteBuffer

    init() throws {
        do {
            decompressor = try ZlibDecompressor(algorithm: .deflate)
        } catch {
            throw ObjectVerificationError.malformed("cannot start inflating: \(error)")
        }
        output = ByteBufferAllocator().buffer(capacity: 64 * 1024)
    }

    /// Inflates `bytes`, handing each produced piece to `consume`. Data after the end of the stream is an error.
    func inflate(_ bytes: UnsafeRawBufferPointer, consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !bytes.isEmpty else { return }
        var input = ByteBuffer(bytes: bytes)
        while true {
            output.clear()
            let outcome = try step(&input)
            try output.withUnsafeReadableBytes { try consume($0) }
            switch outcome {
            case .outputFull: continue
            case .needsInput: return
            case .progressed:
                // zlib stops with input left over only at the end of the stream.
                if input.readableBytes > 0 {
                    throw ObjectVerificationError.malformed("data after the compressed content")
                }
                return
            }
        }
    }

    /// Makes the inflater ready for a new stream (reused across objects: no new zlib state per file).
    func reset() throws {
        do {
            try decompressor.reset()
        } catch {
            throw ObjectVerificationError.malformed("cannot reset inflating: \(error)")
        }
        output.clear()
    }

    /// Whether the deflate stream is complete. Probes with one byte: a finished zlib stream consumes nothing.
    func isAtEnd() throws -> Bool {
        var probe = ByteBuffer(bytes: [0])
        output.clear()
        guard case .progressed = try? step(&probe) else { return false }
        return probe.readableBytes == 1
    }

    private enum Outcome { case outputFull, needsInput, progressed }

    private func step(_ input: inout ByteBuffer) throws -> Outcome {
        do {
            try decompressor.inflate(from: &input, to: &output)
            return .progressed
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return .outputFull
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            return .needsInput
        } catch {
            throw ObjectVerificationError.malformed("invalid compressed content")
        }
    }
}
