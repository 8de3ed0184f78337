import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Where a build finds an object, as `missing_objects` answers it.
public enum ObjectPlace: UInt8, Sendable {
    /// Uploaded, or in the build repository itself (linked earlier, or committed).
    case build
    /// Only in the main repository: present for the build, which must record that it relies on it
    /// (`BorrowedObjects`) before saying so.
    case main
    /// Nowhere: the client has to upload it.
    case nowhere
}

/// `missing_objects`' question for many names at once, without changing anything: one `fstatat` per name in the
/// common cases, on paths relative to the three `objects` directories, opened once.
///
/// Per name, in this order: the upload repository, the build repository, the main repository (through `parent`).
/// Whether each `objects/xx` directory exists is looked up once per prefix and remembered, so a repository that
/// has nothing under a prefix (a fresh build's own repository, an upload that has not started) costs nothing per
/// name. A directory appearing during the request (a concurrent upload) can only make a name look missing that was
/// just stored: the client then uploads it again, which is harmless; nothing is ever reported present that is not.
public struct ObjectLookup: ~Copyable {
    private let upload: Int32
    private let own: Int32
    private let main: Int32
    private var uploadPrefixes = PrefixDirectories()
    private var ownPrefixes = PrefixDirectories()
    private var mainPrefixes = PrefixDirectories()

    /// Opens the build's `objects`, its upload repository's (absent after the commit) and the main repository's
    /// through the `parent` link. Throws when the build repository cannot be opened.
    public init(storage: BuildStorage, buildID: Int32) throws {
        let own = open(
            storage.directory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard own >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        self.own = own
        upload = open(
            storage.uploadDirectory(buildID).appending("objects").string,
            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        // `parent` is the one link that is meant to be followed: it points at the main repository.
        main = open(storage.parentDirectory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    deinit {
        close(own)
        if upload >= 0 { close(upload) }
        if main >= 0 { close(main) }
    }

    /// Where `name` is for the build.
    public mutating func place(of name: ObjectName) -> ObjectPlace {
        guard let prefix = name.prefixIndex else { return .nowhere }
        let inUpload = upload >= 0 && uploadPrefixes.exists(prefix, in: upload)
        let inOwn = ownPrefixes.exists(prefix, in: own)
        let inMain = main >= 0 && mainPrefixes.exists(prefix, in: main)
        guard inUpload || inOwn || inMain else { return .nowhere }
        return name.withObjectsRelativePath { path -> ObjectPlace in
            if inUpload && Self.exists(upload, path) { return .build }
            if inOwn && Self.exists(own, path) { return .build }
            if inMain && Self.exists(main, path) { return .main }
            return .nowhere
        }
    }

    /// Where each of `names` whose two-digit prefix is in `prefixes` is for the build, as `(index in names, place)`
    /// pairs (names of other prefixes are left to another call: the prefixes split the work over threads without
    /// two threads reading one directory).
    ///
    /// The names are taken a prefix directory at a time, each repository in turn, and only those not found yet go
    /// on to the next. A directory is read whole (`ObjectListing`) when a listing of it is kept from earlier and
    /// still current, or when it is small next to the number of names asked of it; otherwise each name costs one
    /// `fstatat` relative to the open prefix directory. A directory that does not exist costs one failed `openat`.
    public func places(of names: [ObjectName], prefixes: Range<Int> = 0..<256) -> [(Int, ObjectPlace)] {
        var buckets = [[Int]](repeating: [], count: 256)
        for (index, name) in names.enumerated() {
            guard let prefix = name.prefixIndex, prefixes.contains(prefix) else { continue }
            buckets[prefix].append(index)
        }
        var found: [(Int, ObjectPlace)] = []
        found.reserveCapacity(names.count)
        let sources: [(objects: Int32, place: ObjectPlace)] = [(upload, .build), (own, .build), (main, .main)]
        for prefix in prefixes.clamped(to: 0..<256) where !buckets[prefix].isEmpty {
            // Positions in the bucket still looked for, and the names' keys once a listing needs them.
            var open = Array(buckets[prefix].indices)
            var keys: [ObjectKey?] = []
            for source in sources where source.objects >= 0 && !open.isEmpty {
                let directory = PrefixDirectories.open(prefix, in: source.objects)
                guard directory >= 0 else { continue }
                defer { close(directory) }
                if let listing = Self.listing(of: directory, wanted: open.count) {
                    if keys.isEmpty { keys = buckets[prefix].map { ObjectKey(names[$0]) } }
                    open.removeAll { position in
                        guard let key = keys[position], listing.contains(key) else { return false }
                        found.append((buckets[prefix][position], source.place))
                        return true
                    }
                } else {
                    open.removeAll { position in
                        let index = buckets[prefix][position]
                        guard names[index].withPrefixRelativePath({ Self.exists(directory, $0) }) else { return false }
                        found.append((index, source.place))
                        return true
                    }
                }
            }
            for position in open { found.append((buckets[prefix][position], .nowhere)) }
        }
        return found
    }

    /// A listing of the prefix directory open at `directory` if one is kept and current, or if reading it costs
    /// less than looking up `wanted` names one by one; nil to look them up. Listings of directories that have not
    /// changed for `settle` nanoseconds (`DirectoryStamp.settleMargin` when nil) are kept in `kept` for later
    /// requests.
    static func listing(
        of directory: Int32, wanted: Int, kept: ObjectListings = .shared, settle: Int64? = nil
    ) -> ObjectListing? {
        guard let stamp = DirectoryStamp(directory) else { return nil }
        if let listing = kept.listing(for: stamp) { return listing }
        // ext4 spends about 110 bytes of directory per object name; a name costs about eight times as much to
        // look up (most for names that are not there) as to read in a listing.
        let estimated = stamp.size / 100
        guard estimated <= Int64(wanted) * 8 else { return nil }
        var start = timespec()
        clock_gettime(CLOCK_REALTIME, &start)
        // Other file systems size directories otherwise: past twice the break-even point, stop reading.
        guard let listing = ObjectListing.read(directory, limit: max(wanted * 16, 1024)) else { return nil }
        if DirectoryStamp(directory) == stamp && stamp.settled(before: start, margin: settle) {
            kept.keep(listing, for: stamp)
        }
        return listing
    }

    /// What `warm` did.
    public struct Warmth: Sendable, Equatable {
        /// Names kept now.
        public var kept = 0
        /// Directories skipped because they changed within the margin (worth another try a little later).
        public var unsettled = 0
    }

    /// Reads and keeps the listings of the `objects/xx` directories of the repository `objects` (a main
    /// repository's, at start-up), so that the first `missing_objects` of a large push finds them ready. Stops at
    /// the kept listings' budget (never dropping others for these) or when `stop` answers true between
    /// directories; skips directories already kept and those changed within `settle` nanoseconds (they would not be
    /// kept; `DirectoryStamp.settleMargin` when nil).
    @discardableResult
    public static func warm(
        objects: FilePath, kept: ObjectListings = .shared, settle: Int64? = nil, stop: () -> Bool = { false }
    ) -> Warmth {
        var warmth = Warmth()
        let objectsDirectory = open(objects.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard objectsDirectory >= 0 else { return warmth }
        defer { close(objectsDirectory) }
        for prefix in 0..<256 {
            guard !stop() else { break }
            let directory = PrefixDirectories.open(prefix, in: objectsDirectory)
            guard directory >= 0 else { continue }
            defer { close(directory) }
            guard let stamp = DirectoryStamp(directory), kept.listing(for: stamp) == nil else { continue }
            var start = timespec()
            clock_gettime(CLOCK_REALTIME, &start)
            guard stamp.settled(before: start, margin: settle) else {
                warmth.unsettled += 1
                continue
            }
            // More names than the budget has room for (or no reading at all): done.
            guard let listing = ObjectListing.read(directory, limit: kept.maxKeys - kept.keptKeys) else { break }
            guard DirectoryStamp(directory) == stamp else {
                warmth.unsettled += 1
                continue
            }
            kept.keep(listing, for: stamp)
            warmth.kept += listing.keys.count
        }
        return warmth
    }

    /// Whether `path` names something other than a directory (an object file, or a link where ostree keeps one).
    static func exists(_ directory: Int32, _ path: UnsafePointer<CChar>) -> Bool {
        var info = stat()
        return fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) != S_IFDIR
    }
}

/// Whether each of the 256 `objects/xx` directories of one repository exists, looked up on first use.
struct PrefixDirectories {
    private enum State: UInt8 { case unknown, present, absent }
    private var states = [State](repeating: .unknown, count: 256)

    mutating func exists(_ prefix: Int, in objects: Int32) -> Bool {
        switch states[prefix] {
        case .present: return true
        case .absent: return false
        case .unknown:
            var info = stat()
            let found = Self.withName(prefix) { fstatat(objects, $0, &info, AT_SYMLINK_NOFOLLOW) == 0 }
            let present = found && (info.st_mode & S_IFMT) == S_IFDIR
            states[prefix] = present ? .present : .absent
            return present
        }
    }

    /// Opens the prefix directory `objects/xx` (no link followed); -1 when it does not exist or is no directory.
    static func open(_ prefix: Int, in objects: Int32) -> Int32 {
        withName(prefix) { openat(objects, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    /// Calls `body` with the directory name `xx` of `prefix` as a C string on the stack.
    private static func withName<T>(_ prefix: Int, _ body: (UnsafePointer<CChar>) -> T) -> T {
        var name: (CChar, CChar, CChar) = (digit(prefix >> 4), digit(prefix & 15), 0)
        return withUnsafePointer(to: &name) { pointer in
            pointer.withMemoryRebound(to: CChar.self, capacity: 3) { body($0) }
        }
    }

    /// Marks a prefix directory as existing (made by the caller).
    mutating func markPresent(_ prefix: Int) { states[prefix] = .present }

    private static func digit(_ value: Int) -> CChar {
        CChar(bitPattern: Array("0123456789abcdef".utf8)[value & 15])
    }
}

extension ObjectName {
    /// The first byte of the checksum as an index (two lowercase hex digits), nil for anything else.
    public var prefixIndex: Int? {
        var value = 0
        var count = 0
        for byte in checksum.utf8.prefix(2) {
            guard let digit = Self.hexValue(byte) else { return nil }
            value = value * 16 + digit
            count += 1
        }
        return count == 2 ? value : nil
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        default: nil
        }
    }

    /// Calls `body` with `xx/rest.type` as a C string built on the stack (a `String` per name cost more than the
    /// system calls themselves).
    func withObjectsRelativePath<T>(_ body: (UnsafePointer<CChar>) -> T) -> T {
        let type = self.type.rawValue.utf8
        let built = checksum.utf8.withContiguousStorageIfAvailable { hex -> T in
            guard hex.count == 64 else { return objectsRelativePath.withCString(body) }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64 + type.count + 3) { path -> T in
                var at = 0
                func put(_ byte: UInt8) {
                    path[at] = CChar(bitPattern: byte)
                    at += 1
                }
                put(hex[0])
                put(hex[1])
                put(UInt8(ascii: "/"))
                for byte in hex[2...] { put(byte) }
                put(UInt8(ascii: "."))
                for byte in type { put(byte) }
                put(0)
                guard let start = path.baseAddress else { return objectsRelativePath.withCString(body) }
                return body(start)
            }
        }
        return built ?? objectsRelativePath.withCString(body)
    }

    /// Calls `body` with `rest.type`, the name inside the object's prefix directory, as a C string on the stack.
    func withPrefixRelativePath<T>(_ body: (UnsafePointer<CChar>) -> T) -> T {
        withObjectsRelativePath { body($0 + 3) }
    }

    /// `xx/rest.type`: the object's path inside an `objects` directory.
    var objectsRelativePath: String { "\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(type.rawValue)" }
}
