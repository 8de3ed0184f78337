import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What a checkout refused or could not do.
public enum ArchiveCheckoutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A name in a dirtree that is not one file name (empty, `.`, `..`, with a `/` or a NUL).
    case badName(String)
    /// Something in the destination that the tree cannot be written over (a symlink or a file where a directory
    /// goes: ostree would follow the symlink, this checkout never does).
    case inTheWay(String)
    /// A tree deeper than ostree's own limit.
    case tooDeep
    /// An object that is not what its kind says, or a content size that does not match its header.
    case badObject(String)
    case io(String, errno: Int32)

    public var description: String {
        switch self {
        case .badName(let name): "Invalid file name in a tree: \(name.debugDescription)"
        case .inTheWay(let path): "\(path) is in the way: not a directory"
        case .tooDeep: "The tree is nested too deeply"
        case .badObject(let what): "Invalid object: \(what)"
        case .io(let what, let number): "\(what): \(String(cString: strerror(number)))"
        }
    }
}

/// A checkout of a commit of an archive repository, the way `ostree checkout --user-mode --union
/// --bareuseronly-dirs <ref> <destination>` makes it (server.md §4.3 step 6, §4.6 step 5), in this process: the
/// appstream checkout of a small build is a few files, and a run of the `ostree` tool for them costs more than the
/// files do (issue #13).
///
/// What it writes, as the tool does (compared with it in the tests):
/// - regular files with the object's permission bits less setuid and setgid, written afresh (a file already there is
///   replaced by a rename, so a reader never sees half a file); symbolic links with their target;
/// - directories it creates with the dirmeta's mode masked to `0775` and their times set to the epoch; a directory
///   that exists already is used as it is (`--union`), and what else is in it stays.
///
/// Where it differs on purpose: a symbolic link (or anything but a directory) where the tree has a directory is
/// refused (`inTheWay`). The tool follows such a link and writes wherever it points; nothing here ever follows a
/// symbolic link below the destination, nor the destination itself.
public struct ArchiveCheckout {
    /// ostree's own nesting limit (`OSTREE_MAX_RECURSION`).
    static let maximumDepth = 256

    let repo: LocalRepo
    /// The repository's `objects` directory while a checkout runs: objects are opened relative to it.
    private var objects: Int32 = -1
    /// One inflater for all files, reset between them.
    private var inflater: Inflater?

    public init(repo: LocalRepo) {
        self.repo = repo
    }

    /// Checks out `commit` into `destination`, whose parent must exist.
    public mutating func checkout(commit: String, into destination: FilePath) throws {
        objects = open(repo.path.string + "/objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard objects >= 0 else {
            throw ArchiveCheckoutError.io("Cannot open the objects of \(repo.path)", errno: errno)
        }
        defer {
            close(objects)
            objects = -1
        }
        let object = try CommitObject(data: try read(ObjectName(checksum: commit, type: .commit)))
        let path = destination.string
        let created: Bool
        if mkdir(path, 0o700) == 0 {
            created = true
        } else if errno == EEXIST {
            created = false
        } else {
            throw ArchiveCheckoutError.io("Cannot create \(path)", errno: errno)
        }
        let directory = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else {
            if errno == ELOOP || errno == ENOTDIR { throw ArchiveCheckoutError.inTheWay(path) }
            throw ArchiveCheckoutError.io("Cannot open \(path)", errno: errno)
        }
        defer { close(directory) }
        try fill(directory, path: path, tree: object.rootTree, meta: object.rootMeta, created: created, depth: 0)
    }

    /// Writes the tree `tree` into the open directory `directory`; sets its mode and times from `meta` if it was
    /// `created` by this checkout.
    private mutating func fill(
        _ directory: Int32, path: String, tree: String, meta: String, created: Bool, depth: Int
    ) throws {
        guard depth < Self.maximumDepth else { throw ArchiveCheckoutError.tooDeep }
        let listing = try DirTree(data: try read(ObjectName(checksum: tree, type: .dirtree)))
        for file in listing.files {
            try Self.check(file.name)
            try write(file: file.checksum, named: file.name, in: directory, path: path, fresh: created)
        }
        for child in listing.directories {
            try Self.check(child.name)
            let childPath = path + "/" + child.name
            let made: Bool
            if mkdirat(directory, child.name, 0o700) == 0 {
                made = true
            } else if errno == EEXIST {
                made = false
            } else {
                throw ArchiveCheckoutError.io("Cannot create \(childPath)", errno: errno)
            }
            let opened = openat(directory, child.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard opened >= 0 else {
                if errno == ELOOP || errno == ENOTDIR { throw ArchiveCheckoutError.inTheWay(childPath) }
                throw ArchiveCheckoutError.io("Cannot open \(childPath)", errno: errno)
            }
            defer { close(opened) }
            try fill(opened, path: childPath, tree: child.tree, meta: child.meta, created: made, depth: depth + 1)
        }
        guard created else { return }
        // Last, as the tool does: a directory without write permission for its owner is filled first.
        let mode = try Self.directoryMode(read(ObjectName(checksum: meta, type: .dirmeta)))
        guard fchmod(directory, mode & 0o775) == 0 else {
            throw ArchiveCheckoutError.io("Cannot set the mode of \(path)", errno: errno)
        }
        var epoch = (timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0))
        let timed = withUnsafePointer(to: &epoch) {
            $0.withMemoryRebound(to: timespec.self, capacity: 2) { futimens(directory, $0) }
        }
        guard timed == 0 else { throw ArchiveCheckoutError.io("Cannot set the times of \(path)", errno: errno) }
    }

    /// Writes the content object `checksum` as `name` in `directory`: under a temporary name first, then renamed
    /// over whatever has that name (a directory there makes the rename fail); in a `fresh` directory, one this
    /// checkout created and is filling, under its name at once (nothing can be in the way, and a name twice in a
    /// tree fails as it exists). The content is inflated and written a piece at a time: a file of any size costs
    /// the same memory.
    private mutating func write(
        file checksum: String, named name: String, in directory: Int32, path: String, fresh: Bool
    ) throws {
        let objectName = ObjectName(checksum: checksum, type: .filez)
        let object = try openObject(objectName)
        defer { close(object) }
        let header: FileHeader
        do {
            let headerSize = try FileHeader.headerSize(prefix: try Self.read(object, upTo: 8, name: objectName))
            let bytes = try Self.read(object, upTo: headerSize, name: objectName)
            guard bytes.count == headerSize else { throw ObjectVerificationError.malformed("truncated file header") }
            header = try FileHeader(zlibHeader: bytes)
        } catch let error as ArchiveCheckoutError {
            throw error
        } catch {
            throw ArchiveCheckoutError.badObject("\(objectName.fileName): \(error)")
        }
        let temporary = fresh ? name : ".checkout-\(UInt64.random(in: .min ... .max))"
        if header.isSymlink {
            // The header keeps the string's NUL terminator (the checksum covers it).
            let bytes = header.symlinkTarget.last == 0 ? header.symlinkTarget.dropLast() : header.symlinkTarget[...]
            let target = String(decoding: bytes, as: UTF8.self)
            guard !target.isEmpty, !target.utf8.contains(0) else {
                throw ArchiveCheckoutError.badObject("\(objectName.fileName) is a symbolic link without a target")
            }
            guard symlinkat(target, directory, temporary) == 0 else {
                throw ArchiveCheckoutError.io("Cannot create a link in \(path)", errno: errno)
            }
        } else if header.isRegularFile {
            let file = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard file >= 0 else { throw ArchiveCheckoutError.io("Cannot create a file in \(path)", errno: errno) }
            do {
                try copyContent(from: object, to: file, size: header.size, name: objectName, path: path)
                guard fchmod(file, mode_t(header.mode & 0o7777 & ~0o6000)) == 0 else {
                    throw ArchiveCheckoutError.io("Cannot set a file's mode in \(path)", errno: errno)
                }
            } catch {
                close(file)
                unlinkat(directory, temporary, 0)
                throw error
            }
            close(file)
        } else {
            throw ArchiveCheckoutError.badObject(
                "\(objectName.fileName) is neither a regular file nor a symbolic link")
        }
        guard fresh || renameat(directory, temporary, directory, name) == 0 else {
            let number = errno
            unlinkat(directory, temporary, 0)
            if number == EISDIR { throw ArchiveCheckoutError.inTheWay(path + "/" + name) }
            throw ArchiveCheckoutError.io("Cannot write \(path)/\(name)", errno: number)
        }
    }

    /// Inflates the rest of `object` (raw deflate) into `file`; the content must come to exactly `size` bytes.
    private mutating func copyContent(from object: Int32, to file: Int32, size: UInt64, name: ObjectName, path: String)
        throws
    {
        let inflater = try self.inflater ?? Inflater()
        self.inflater = inflater
        var written: UInt64 = 0
        var compressed = false
        do {
            try inflater.reset()
            while true {
                let chunk = try Self.read(object, upTo: Self.chunkSize, name: name)
                if chunk.isEmpty { break }
                compressed = true
                try chunk.withUnsafeBytes { bytes in
                    try inflater.inflate(bytes) { piece in
                        written += UInt64(piece.count)
                        guard written <= size else {
                            throw ArchiveCheckoutError.badObject(
                                "\(name.fileName) has more content than its header says")
                        }
                        try Self.writeAll(file, piece, path: path)
                    }
                }
            }
            // An empty file may come without any compressed bytes; otherwise the stream must be complete.
            if compressed, !(try inflater.isAtEnd()) {
                throw ArchiveCheckoutError.badObject("\(name.fileName) has truncated content")
            }
        } catch let error as ArchiveCheckoutError {
            throw error
        } catch {
            throw ArchiveCheckoutError.badObject("\(name.fileName): \(error)")
        }
        guard written == size else {
            throw ArchiveCheckoutError.badObject("\(name.fileName) has less content than its header says")
        }
    }

    /// How much of a compressed object is read at a time.
    static let chunkSize = 64 * 1024

    private static func writeAll(_ file: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = systemWrite(file, base + offset, buffer.count - offset)
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw ArchiveCheckoutError.io("Cannot write a file in \(path)", errno: errno) }
            offset += written
        }
    }

    /// Opens an object of the repository relative to its open `objects` directory.
    private func openObject(_ name: ObjectName) throws -> Int32 {
        let relative = "\(name.checksum.prefix(2))/\(name.checksum.dropFirst(2)).\(name.type.rawValue)"
        let file = openat(objects, relative, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else {
            if errno == ENOENT { throw RepoError.missingObject(name.fileName) }
            throw ArchiveCheckoutError.io("Cannot open \(name.fileName)", errno: errno)
        }
        var info = stat()
        guard fstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(file)
            throw ArchiveCheckoutError.badObject("\(name.fileName) is not a regular file")
        }
        return file
    }

    /// The whole of a metadata object (commit, dirtree, dirmeta).
    private func read(_ name: ObjectName) throws -> [UInt8] {
        let file = try openObject(name)
        defer { close(file) }
        var bytes: [UInt8] = []
        while true {
            let chunk = try Self.read(file, upTo: Self.chunkSize, name: name)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// Up to `count` bytes from the file's position: fewer only at its end.
    private static func read(_ file: Int32, upTo count: Int, name: ObjectName) throws -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
            filled = 0
            while filled < count, let base = buffer.baseAddress {
                let got = systemRead(file, base + filled, count - filled)
                if got < 0, errno == EINTR { continue }
                if got < 0 { failure = errno }
                guard got > 0 else { return }
                filled += got
            }
        }
        guard failure == 0 else { throw ArchiveCheckoutError.io("Cannot read \(name.fileName)", errno: failure) }
        return bytes
    }

    /// ostree's rule for a name in a tree: one path segment.
    static func check(_ name: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(UInt8(ascii: "/")),
            !name.utf8.contains(0)
        else { throw ArchiveCheckoutError.badName(name) }
    }

    /// The mode of a `.dirmeta` object, type `(uuua(ayay))` (uid, gid, mode big-endian; xattrs).
    static func directoryMode(_ bytes: [UInt8]) throws -> mode_t {
        let parts: [GVariantSlice]
        do {
            parts = try GVariantReader.tuple(
                GVariantSlice(bytes), [.uint32, .uint32, .uint32, .byteArray], what: "dirmeta")
        } catch {
            throw ArchiveCheckoutError.badObject("a dirmeta: \(error)")
        }
        let mode = UInt32(truncatingIfNeeded: parts[2].bigEndian(at: 0, size: 4))
        guard mode & 0o170000 == 0o040000 else {
            throw ArchiveCheckoutError.badObject("a dirmeta that is no directory")
        }
        return mode_t(mode & 0o7777)
    }
}

extension ArchiveCheckout {
    /// `checkout(commit:into:)` of the commit `ref` points at, on a thread of its own: a big tree (a large
    /// repository's appstream branch has thousands of icons) does not hold a thread of the concurrency pool.
    public static func checkout(repo: FilePath, ref: String, into destination: FilePath) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        guard let commit = try Refs.read(repo: repo, ref: ref) else { throw RepoError.unknownRef(ref) }
                        var checkout = ArchiveCheckout(repo: try LocalRepo(path: repo))
                        try checkout.checkout(commit: commit, into: destination)
                    })
            }
            thread.name = "appstream-checkout"
            thread.start()
        }
    }
}

/// `read(2)`, outside `ArchiveCheckout` whose own `read` would shadow it.
private func systemRead(_ file: Int32, _ bytes: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(file, bytes, count)
}

/// `write(2)`, outside `ArchiveCheckout` whose own `write` would shadow it.
private func systemWrite(_ file: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(file, bytes, count)
}
