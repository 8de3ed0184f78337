import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks a part's content while it streams to disk (e.g. an ostree object checksum); throwing from
/// either method rejects the part as an invalid object.
public protocol UploadPartVerifier: Sendable {
    /// Sees every byte of the part, in order, in pieces of any size.
    mutating func update(_ bytes: UnsafeRawBufferPointer) throws
    /// Called once after the last byte; throw if the content is not acceptable.
    mutating func finish() throws
}

/// Where one uploaded part should end up, and how to check it on the way.
public struct UploadDestination: Sendable {
    public var finalPath: String
    public var verifier: (any UploadPartVerifier)?

    public init(finalPath: String, verifier: (any UploadPartVerifier)? = nil) {
        self.finalPath = finalPath
        self.verifier = verifier
    }
}

/// What an upload may still store: the per-file limit and a running total shared by every request of a build
/// (`max-object-bytes`, `max-build-bytes`). Called synchronously from the part being written.
public protocol UploadBudget: Sendable {
    /// The largest single part, nil for no limit.
    var maxPartBytes: Int64? { get }
    /// Throws `.tooLarge` when `pending` more bytes (not yet reserved) would exceed the build's total.
    func check(pending: Int64) throws(UploadError)
    /// Counts `bytes` against the total, or throws `.tooLarge` and counts nothing.
    func reserve(_ bytes: Int64) throws(UploadError)
    /// Gives back a reservation whose file was not stored after all.
    func release(_ bytes: Int64)
}

/// Why an upload request failed. Parts stored before the failing one stay stored (as upstream).
public enum UploadError: Error, Sendable, Equatable {
    case noContentDisposition
    case noFilename
    /// The filename was refused by the destination callback.
    case invalidFilename(String)
    /// The part's content failed verification.
    case invalidObject(String)
    case malformedMultipart(String)
    case io(String)
    /// A limit of `UploadBudget` was reached (413); nothing of the part was kept.
    case tooLarge(String)

    /// The error text sent to clients; the first three are upstream's exact wording.
    public var message: String {
        switch self {
        case .noContentDisposition: "No content disposition for multipart item"
        case .noFilename: "No filename for multipart item"
        case .invalidFilename: "Invalid upload filename"
        case .invalidObject(let detail): "Invalid object: \(detail)"
        case .malformedMultipart(let detail): detail
        case .io(let detail): detail
        case .tooLarge(let detail): detail
        }
    }

    /// Wraps any error thrown while receiving; our own errors pass through unchanged.
    init(wrapping error: any Error) {
        switch error {
        case let error as UploadError: self = error
        case let error as MultipartError: self = .malformedMultipart(error.message)
        default: self = .io("Failed to read upload body: \(error)")
        }
    }
}

/// Receives a multipart upload straight from the request body stream to disk, part by part.
public struct UploadReceiver {
    /// Streams `body` through the parser; for each part asks `destination(filename)` where it goes
    /// (throw `UploadError.invalidFilename` to refuse), writes it to a unique temp file in
    /// `tempDirectory` (created if missing), feeds the verifier, and on success renames atomically
    /// onto `finalPath` (parents created, existing replaced, mode 0644). Returns the byte count of
    /// each part, in order — exactly one per part. A failing part leaves nothing of itself on disk.
    public static func receive<S: AsyncSequence>(
        body: S,
        boundary: String,
        tempDirectory: String,
        budget: (any UploadBudget)? = nil,
        destination: (String) throws(UploadError) -> UploadDestination
    ) async throws(UploadError) -> [Int] where S.Element == ByteBuffer {
        var parser = MultipartParser(boundary: boundary)
        var session = UploadSession(tempDirectory: tempDirectory, budget: budget)
        do {
            for try await chunk in body {
                for event in try parser.feed(chunk) {
                    try session.handle(event, destination: destination)
                }
            }
            try parser.finish()
        } catch {
            session.abortCurrentPart()
            throw UploadError(wrapping: error)
        }
        return session.sizes
    }
}

/// The state of one upload request between parser events.
struct UploadSession {
    let tempDirectory: String
    let budget: (any UploadBudget)?
    private(set) var sizes: [Int] = []
    private var current: PartFile?
    private var tempDirectoryReady = false

    init(tempDirectory: String, budget: (any UploadBudget)? = nil) {
        self.tempDirectory = tempDirectory
        self.budget = budget
    }

    mutating func handle(
        _ event: MultipartEvent,
        destination: (String) throws(UploadError) -> UploadDestination
    ) throws(UploadError) {
        switch event {
        case .headers(let headers):
            try startPart(headers, destination: destination)
        case .body(let piece):
            try current?.append(piece)
        case .end:
            guard let part = current else { return }
            current = nil
            sizes.append(try part.commit())
        }
    }

    mutating func abortCurrentPart() {
        current?.abort()
        current = nil
    }

    private mutating func startPart(
        _ headers: PartHeaders,
        destination: (String) throws(UploadError) -> UploadDestination
    ) throws(UploadError) {
        guard let disposition = headers.contentDisposition else { throw .noContentDisposition }
        guard let filename = disposition.filename else { throw .noFilename }
        let target = try destination(filename)
        if !tempDirectoryReady {
            do {
                try POSIXFiles.makeDirectories(tempDirectory)
            } catch {
                throw .io(error.description)
            }
            tempDirectoryReady = true
        }
        current = try PartFile(tempDirectory: tempDirectory, destination: target, budget: budget)
    }
}

/// One part being written to its temp file.
///
/// A class because it owns a file descriptor: `deinit` closes it and removes the temp file if the
/// part was neither committed nor aborted, so no error path can leak either.
final class PartFile {
    /// Pieces smaller than this are merged before writing; larger ones are written as they are.
    private static let writeSize = 512 * 1024

    private let tempPath: String
    private let finalPath: String
    private var verifier: (any UploadPartVerifier)?
    private let budget: (any UploadBudget)?
    private var descriptor: Int32
    private var merged: ByteBuffer
    private var count = 0
    /// Set once the temp file has been renamed or removed, so `deinit` leaves the disk alone.
    private var settled = false

    init(tempDirectory: String, destination: UploadDestination, budget: (any UploadBudget)? = nil)
        throws(UploadError)
    {
        finalPath = destination.finalPath
        verifier = destination.verifier
        self.budget = budget
        merged = ByteBuffer()
        (tempPath, descriptor) = try Self.createTempFile(in: tempDirectory)
    }

    deinit {
        abort()
    }

    /// Creates a fresh file with a random name (`O_EXCL`, so two requests never share one).
    private static func createTempFile(in directory: String) throws(UploadError) -> (String, Int32) {
        for _ in 0..<8 {
            let path = "\(directory)/upload-\(String(UInt64.random(in: .min ... .max), radix: 16))"
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 { return (path, descriptor) }
            if errno != EEXIST {
                throw .io("Failed to create temporary file in \(directory): \(POSIXFiles.lastErrorMessage())")
            }
        }
        throw .io("Failed to create a unique temporary file in \(directory)")
    }

    func append(_ piece: ByteBuffer) throws(UploadError) {
        count += piece.readableBytes
        if let budget {
            // Checked as the bytes arrive, so an oversized part is refused before it fills the disk.
            if let limit = budget.maxPartBytes, Int64(count) > limit {
                abort()
                throw .tooLarge("Upload of a file larger than \(limit) bytes (max-object-bytes)")
            }
            do throws(UploadError) {
                try budget.check(pending: Int64(count))
            } catch {
                abort()
                throw error
            }
        }
        if merged.readableBytes == 0 && piece.readableBytes >= Self.writeSize {
            try write(piece)
            return
        }
        merged.writeImmutableBuffer(piece)
        if merged.readableBytes >= Self.writeSize {
            try flush()
        }
    }

    /// Finishes the part: last write, verification, mode 0644, atomic rename onto the final path.
    func commit() throws(UploadError) -> Int {
        do {
            try flush()
            try finishVerifier()
            try closeDescriptor()
            let reserved = try reserveBudget()
            do {
                // The directory is there for all but the first object of a prefix: rename first, and make the
                // directories only when it is missing (eight `mkdir`s of existing directories per object were a
                // tenth of a large push's server time).
                var renamed = rename(tempPath, finalPath) == 0
                if !renamed && errno == ENOENT {
                    try POSIXFiles.makeDirectories(POSIXFiles.parent(of: finalPath))
                    renamed = rename(tempPath, finalPath) == 0
                }
                guard renamed else {
                    throw POSIXFileError(
                        operation: "rename to", path: finalPath, message: POSIXFiles.lastErrorMessage())
                }
            } catch {
                budget?.release(reserved)
                throw error
            }
            settled = true
            return count
        } catch let error as UploadError {
            abort()
            throw error
        } catch {
            abort()
            throw .io(String(describing: error))
        }
    }

    /// Reserves what storing this part adds to the build (its size less that of a file it replaces); returns it.
    private func reserveBudget() throws(UploadError) -> Int64 {
        guard let budget else { return 0 }
        var status = stat()
        let replaced = lstat(finalPath, &status) == 0 ? Int64(status.st_size) : 0
        let added = max(0, Int64(count) - replaced)
        try budget.reserve(added)
        return added
    }

    /// Closes the descriptor (if still open) and removes the temp file; safe to call repeatedly.
    func abort() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if !settled {
            unlink(tempPath)
            settled = true
        }
    }

    private func flush() throws(UploadError) {
        guard merged.readableBytes > 0 else { return }
        try write(merged)
        merged.clear()
    }

    private func write(_ buffer: ByteBuffer) throws(UploadError) {
        let result: Result<Void, UploadError> = buffer.withUnsafeReadableBytes { bytes in
            do {
                try verifier?.update(bytes)
            } catch {
                return .failure(Self.verificationError(error))
            }
            if let failure = Self.writeAll(bytes, to: descriptor) {
                return .failure(.io("Failed to write \(tempPath): \(failure)"))
            }
            return .success(())
        }
        try result.get()
    }

    private func finishVerifier() throws(UploadError) {
        do {
            try verifier?.finish()
        } catch {
            throw Self.verificationError(error)
        }
    }

    private func closeDescriptor() throws(UploadError) {
        // Explicit mode: the process umask must not decide what the repository's readers can open.
        let chmodFailed = fchmod(descriptor, 0o644) != 0
        let closeFailed = close(descriptor) != 0
        descriptor = -1
        if chmodFailed || closeFailed { throw .io("Failed to close \(tempPath): \(POSIXFiles.lastErrorMessage())") }
    }

    private static func verificationError(_ error: any Error) -> UploadError {
        (error as? UploadError) ?? .invalidObject(String(describing: error))
    }

    /// `write(2)` until every byte is out, retrying on EINTR; the error text on failure, else nil.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> String? {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { break }
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return POSIXFiles.lastErrorMessage()
            }
            offset += written
        }
        return nil
    }
}

/// `write(2)` under a name that does not clash with `PartFile.write(_:)`.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
