import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The objects a build relies on the main repository for: every name `missing_objects` answered present because
/// the main repository has it (the client then does not upload it). Kept in `<build>/.flat-manager-borrowed`, a
/// dot-file that file serving never reaches and that no upload can name, one 33-byte record per name (the binary
/// checksum and a type byte), appended and flushed to disk before the answer goes out, so it survives a crash or
/// restart of the server at any point.
///
/// A build must never lose an object it was told it has. Whatever removes objects from the main repository (the
/// prune job) first takes the repository's `AdoptionLock` exclusively and `adopt`s the records of every build in
/// flight: each recorded object is hard-linked into the build repository, after which the main repository's copy
/// may go. `missing_objects` records under the lock held shared, so no answer can rely on an object between the
/// adoption and the prune's deletions; while a prune holds it, `missing_objects` links synchronously instead (as
/// every call did before). The commit job adopts its build's records too, before ostree reads the build, so a
/// committed build holds everything it was built from.
///
/// Concurrent writers of one build's file are kept apart by an `flock` on the file itself: appending never waits
/// for it (the caller links instead), adopting does.
public enum BorrowedObjects {
    /// The file's name inside the build directory.
    public static let fileName = ".flat-manager-borrowed"
    /// One record: 32 checksum bytes and the type (`ObjectType.allCases` index).
    static let recordSize = 33
    /// A build that keeps asking about the same names grows its file; past this (about two million names) it is
    /// not appended to any more and `missing_objects` links instead.
    static let maxBytes = 64 << 20

    /// What an adoption did.
    public struct Adoption: Sendable, Equatable {
        /// Records read.
        public var recorded = 0
        /// Objects linked (or copied) into the build repository now.
        public var linked = 0
        /// Objects the build had already.
        public var present = 0
        /// Objects in neither place any more (something else removed them from the main repository).
        public var lost: [ObjectName] = []

        public init() {}
    }

    /// Appends `names` to the build's record and flushes it to disk. False when it cannot: the build directory or
    /// its record cannot be opened, another writer holds the record, the record is full, or a write fails. The
    /// caller must then not report these names present unless it links them.
    public static func record(_ names: [ObjectName], storage: BuildStorage, buildID: Int32) -> Bool {
        guard !names.isEmpty else { return true }
        let directory = open(storage.directory(buildID).string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else { return false }
        defer { close(directory) }
        var created = false
        var file = openat(directory, fileName, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
        if file < 0 && errno == ENOENT {
            file = openat(directory, fileName, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            created = file >= 0
            if file < 0 && errno == EEXIST {
                file = openat(directory, fileName, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
            }
        }
        guard file >= 0 else { return false }
        defer { close(file) }
        guard flock(file, LOCK_EX | LOCK_NB) == 0 else { return false }
        var info = stat()
        guard fstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        // A record torn by a crash during an earlier append (never answered): cut it off, or every later record
        // would be read shifted.
        let size = Int(info.st_size)
        let torn = size % recordSize
        if torn != 0 && ftruncate(file, off_t(size - torn)) != 0 { return false }
        let (added, overflow) = names.count.multipliedReportingOverflow(by: recordSize)
        guard !overflow, size - torn <= maxBytes - added else { return false }
        let bytes = encode(names)
        let written = bytes.withUnsafeBytes { writeAll(file, $0) }
        guard written, fdatasync(file) == 0 else { return false }
        // A new file's name must reach the disk too, or a crash could lose the whole record.
        return !created || fsync(directory) == 0
    }

    /// Links every recorded object into the build repository (copies it across file systems), waiting for any
    /// other writer of the record. With `clear`, the links are then flushed to disk and the record emptied (the
    /// prune job, holding the `AdoptionLock`: nothing can be recorded meanwhile); without, the record stays, so
    /// that a crash before the links reach the disk loses nothing. A build without a record adopts nothing.
    public static func adopt(storage: BuildStorage, buildID: Int32, clear: Bool) throws -> Adoption {
        let directory = open(storage.directory(buildID).string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else { throw Self.error() }
        defer { close(directory) }
        let file = openat(directory, fileName, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else {
            if errno == ENOENT { return Adoption() }
            throw Self.error()
        }
        defer { close(file) }
        while flock(file, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Self.error() }
        }
        let names = try read(file)
        guard !names.isEmpty else { return Adoption() }
        var adoption = try link(names, storage: storage, buildID: buildID)
        adoption.recorded = names.count
        if clear {
            // The links must be on disk before the record that asks for them is gone.
            try flushObjectDirectories(of: names, storage: storage, buildID: buildID)
            guard ftruncate(file, 0) == 0, fdatasync(file) == 0 else { throw Self.error() }
        }
        return adoption
    }

    /// Adopts (and clears) the records of every build whose `parent` is `repository`: what the prune job does
    /// before it removes anything. Builds come and go meanwhile: one that disappears is skipped.
    public static func adoptAll(storage: BuildStorage, repository: FilePath) throws -> [Int32: Adoption] {
        var repositoryInfo = stat()
        guard stat(repository.string, &repositoryInfo) == 0 else { throw Self.error() }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: storage.base.string)) ?? []
        var adoptions: [Int32: Adoption] = [:]
        for entry in entries {
            guard let buildID = Int32(entry), String(buildID) == entry else { continue }
            var parentInfo = stat()
            guard stat(storage.parentDirectory(buildID).string, &parentInfo) == 0,
                parentInfo.st_dev == repositoryInfo.st_dev, parentInfo.st_ino == repositoryInfo.st_ino
            else { continue }
            do {
                let adoption = try adopt(storage: storage, buildID: buildID, clear: true)
                if adoption.recorded > 0 { adoptions[buildID] = adoption }
            } catch {
                // Removed while we looked (published or purged): nothing left to protect.
                guard storage.exists(buildID) else { continue }
                throw error
            }
        }
        return adoptions
    }

    /// The recorded names (a torn last record is ignored; an unknown type byte too).
    public static func recorded(storage: BuildStorage, buildID: Int32) throws -> [ObjectName] {
        let path = storage.directory(buildID).appending(fileName).string
        let file = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else {
            if errno == ENOENT { return [] }
            throw Self.error()
        }
        defer { close(file) }
        return try read(file)
    }

    static func encode(_ names: [ObjectName]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: names.count * recordSize)
        var at = 0
        for name in names {
            // Checksums are valid by construction (a digit that were not would encode as garbage, never trap).
            var invalid = false
            var high = true
            for byte in name.checksum.utf8.prefix(64) {
                let value = Hex.lowerNibble(byte, invalid: &invalid)
                if high {
                    bytes[at] = value << 4
                } else {
                    bytes[at] |= value
                    at += 1
                }
                high.toggle()
            }
            bytes[at] = name.type.index
            at += 1
        }
        return bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> [ObjectName] {
        let count = bytes.count / recordSize
        var names: [ObjectName] = []
        names.reserveCapacity(count)
        let types = ObjectType.allCases
        for index in 0..<count {
            let record = UnsafeRawBufferPointer(rebasing: bytes[(index * recordSize)..<((index + 1) * recordSize)])
            let typeIndex = Int(record[32])
            guard typeIndex < types.count else { continue }
            names.append(ObjectName(checksum: Hex.encode(record[..<32]), type: types[typeIndex]))
        }
        return names
    }

    private static func read(_ file: Int32) throws -> [ObjectName] {
        var info = stat()
        guard fstat(file, &info) == 0 else { throw Self.error() }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw POSIXError(.EINVAL) }
        // Ours, but bounded all the same: never more than `record` lets it grow (plus one torn record).
        let size = min(Int(info.st_size), maxBytes + recordSize)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return pread(file, base + done, size - done, off_t(done))
            }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Self.error() }
            if count == 0 { break }
            done += count
        }
        return bytes.withUnsafeBytes { decode(UnsafeRawBufferPointer(rebasing: $0[..<done])) }
    }

    /// Links `names` from the main repository into the build repository.
    private static func link(_ names: [ObjectName], storage: BuildStorage, buildID: Int32) throws -> Adoption {
        let own = open(
            storage.directory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard own >= 0 else { throw Self.error() }
        defer { close(own) }
        let main = open(
            storage.parentDirectory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard main >= 0 else { throw Self.error() }
        defer { close(main) }
        var prefixes = PrefixDirectories()
        var adoption = Adoption()
        for name in names {
            guard let prefix = name.prefixIndex else { continue }
            if !prefixes.exists(prefix, in: own) {
                let made = name.checksum.prefix(2).withCString { mkdirat(own, $0, 0o755) }
                guard made == 0 || errno == EEXIST else { throw Self.error() }
                prefixes.markPresent(prefix)
            }
            let result = name.withObjectsRelativePath { path -> Int32 in
                linkat(main, path, own, path, 0) == 0 ? 0 : errno
            }
            switch result {
            case 0: adoption.linked += 1
            case EEXIST: adoption.present += 1
            case EXDEV:
                // The main repository on another file system (the README asks for one): a copy does as well.
                if storage.adoptObject(buildID, name) { adoption.linked += 1 } else { adoption.lost.append(name) }
            case ENOENT:
                // Gone from the main repository: fine if the build has it after all (linked meanwhile, or
                // uploaded anyway).
                let uploaded = FileManager.default.fileExists(atPath: storage.uploadedObjectPath(buildID, name).string)
                if uploaded || name.withObjectsRelativePath({ ObjectLookup.exists(own, $0) }) {
                    adoption.present += 1
                } else {
                    adoption.lost.append(name)
                }
            default:
                throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO)
            }
        }
        return adoption
    }

    /// `fsync` of the build's `objects` directory and of each `objects/xx` that `names` were linked into.
    private static func flushObjectDirectories(of names: [ObjectName], storage: BuildStorage, buildID: Int32) throws {
        let own = open(
            storage.directory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard own >= 0 else { throw Self.error() }
        defer { close(own) }
        var touched = [Bool](repeating: false, count: 256)
        for name in names { if let prefix = name.prefixIndex { touched[prefix] = true } }
        for (prefix, wasTouched) in touched.enumerated() where wasTouched {
            let digits = Array("0123456789abcdef".utf8)
            let name = String(decoding: [digits[prefix >> 4], digits[prefix & 15]], as: UTF8.self)
            let directory = openat(own, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else { continue }
            defer { close(directory) }
            guard fsync(directory) == 0 else { throw Self.error() }
        }
        guard fsync(own) == 0 else { throw Self.error() }
    }

    private static func writeAll(_ file: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return false }
            let count = write(file, base + done, bytes.count - done)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }

    private static func error() -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
}
