import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An object's identity inside its `objects/xx` directory: the 31 checksum bytes after the prefix and the type, packed
/// into four words so that a directory's names sort and compare without strings.
struct ObjectKey: Comparable, Hashable, Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    /// From 62 lowercase hex digits (the checksum after its two-digit prefix) and a type; nil for anything else.
    init?(hex: UnsafeRawBufferPointer, type: ObjectType) {
        guard hex.count == 62 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var value: UInt64 = 0
        var invalid = false
        // 31 bytes from the digits, eight to a word; the last word takes 7 of them and the type in its lowest byte.
        for byte in 0..<31 {
            let high = Hex.lowerNibble(hex[2 * byte], invalid: &invalid)
            let low = Hex.lowerNibble(hex[2 * byte + 1], invalid: &invalid)
            value = value << 8 | UInt64(high << 4 | low)
            switch byte {
            case 7: words.0 = value
            case 15: words.1 = value
            case 23: words.2 = value
            default: continue
            }
            value = 0
        }
        guard !invalid else { return nil }
        words.3 = value << 8 | UInt64(type.index)
        self.words = words
    }

    /// The key of `name`, whose checksum is valid by construction.
    init?(_ name: ObjectName) {
        let key = name.checksum.utf8.withContiguousStorageIfAvailable { hex -> ObjectKey? in
            guard hex.count == 64 else { return nil }
            return ObjectKey(hex: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(hex)[2...]), type: name.type)
        }
        let copied = {
            Array(name.checksum.utf8).withUnsafeBytes { bytes -> ObjectKey? in
                bytes.count == 64 ? ObjectKey(hex: UnsafeRawBufferPointer(rebasing: bytes[2...]), type: name.type) : nil
            }
        }
        guard let key = key ?? copied() else { return nil }
        self = key
    }

    /// A directory entry's name, `<62 hex>.<type>`; nil for anything else (temporary files, other object types).
    init?(entryName bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 63, bytes[62] == UInt8(ascii: "."),
            let type = ObjectType(utf8: UnsafeRawBufferPointer(rebasing: bytes[63...]))
        else { return nil }
        self.init(hex: UnsafeRawBufferPointer(rebasing: bytes[..<62]), type: type)
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.words == rhs.words }

    static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.words.0 != rhs.words.0 { return lhs.words.0 < rhs.words.0 }
        if lhs.words.1 != rhs.words.1 { return lhs.words.1 < rhs.words.1 }
        if lhs.words.2 != rhs.words.2 { return lhs.words.2 < rhs.words.2 }
        return lhs.words.3 < rhs.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

extension ObjectType {
    /// The type's place in `allCases`, as a key and the borrowed-objects record store it.
    var index: UInt8 {
        switch self {
        case .dirtree: 0
        case .dirmeta: 1
        case .filez: 2
        case .commit: 3
        }
    }
}

/// The object names of one `objects/xx` directory, read with `readdir` and sorted: `missing_objects` answers many
/// names of one directory from one listing (about half a microsecond an entry on ext4) instead of one path lookup
/// each (2 to 8 microseconds, the most for names that are not there).
///
/// A listing of a directory that has not changed for a while is kept for later requests (`ObjectListings`): a
/// directory's modification time changes with every name added or removed in it, so a listing whose directory still
/// has the same `stat` identity and times is still exact.
struct ObjectListing: Sendable {
    /// Sorted.
    let keys: [ObjectKey]

    func contains(_ key: ObjectKey) -> Bool {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = low + (high - low) / 2
            if keys[middle] < key {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < keys.count && keys[low] == key
    }

    /// Reads the directory open at `directory`, which stays open (the listing reads a duplicate). Nil when it cannot
    /// be read, or has more than `limit` entries (then per-name look-ups are the cheaper answer after all).
    static func read(_ directory: Int32, limit: Int) -> ObjectListing? {
        let copy = dup(directory)
        guard copy >= 0 else { return nil }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return nil
        }
        defer { closedir(stream) }
        // The duplicate shares the directory's offset with the original: start from the beginning.
        rewinddir(stream)
        var keys: [ObjectKey] = []
        var entries = 0
        // `readdir` ends with nil both at the end and on an error, which only `errno` tells apart: a listing cut
        // short is no listing (kept, it would hide names until the directory changes).
        while true {
            errno = 0
            guard let entry = readdir(stream) else { break }
            entries += 1
            guard entries <= limit else { return nil }
            let key = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> ObjectKey? in
                let length = raw.firstIndex(of: 0) ?? raw.count
                return ObjectKey(entryName: UnsafeRawBufferPointer(rebasing: raw[..<length]))
            }
            // Subdirectories cannot be objects; anything else an object path could name counts, as `fstatat` would.
            if let key, entry.pointee.d_type != UInt8(DT_DIR) { keys.append(key) }
        }
        guard errno == 0 else { return nil }
        keys.sort()
        return ObjectListing(keys: keys)
    }
}

/// The identity and times of a directory: a listing of it is current while these are unchanged.
struct DirectoryStamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: timespec
    var changed: timespec

    init?(_ directory: Int32) {
        var info = stat()
        guard fstat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
            && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }

    /// How long a directory must have been unchanged before a listing of it is kept, in nanoseconds. File times come
    /// from a clock that advances in ticks (1 to 10 ms), and a change within the tick of the one that set these times
    /// would leave them as they are; so a listing taken soon after a change is not kept, as git does not trust
    /// "racily clean" files. 50 ms is five of the longest ticks. Times without nanoseconds come from a file system
    /// that keeps whole seconds (ext4 with small inodes, FAT's two seconds): there, two seconds.
    var settleMargin: Int64 {
        modified.tv_nsec == 0 && changed.tv_nsec == 0 ? 2_000_000_000 : 50_000_000
    }

    /// Whether the directory last changed more than `margin` nanoseconds (`settleMargin` when nil) before `time`.
    func settled(before time: timespec, margin: Int64? = nil) -> Bool {
        let margin = margin ?? settleMargin
        func nanoseconds(_ time: timespec) -> Int64 {
            Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ Int64(time.tv_nsec)
        }
        return max(nanoseconds(modified), nanoseconds(changed)) < nanoseconds(time) &- margin
    }
}

/// Listings of object directories kept between requests, up to a number of keys in all (32 bytes each), the least
/// recently used dropped first. A listing is only ever answered for a directory whose `DirectoryStamp` is exactly the
/// one it was read under.
public final class ObjectListings: Sendable {
    /// The server's: 32 MiB of names at most.
    public static let shared = ObjectListings(maxKeys: 1 << 20)

    private struct Entry {
        var stamp: DirectoryStamp
        var listing: ObjectListing
        var used: UInt64
    }

    private struct State {
        var entries: [DirectoryKey: Entry] = [:]
        var keys = 0
        var clock: UInt64 = 0
    }

    private struct DirectoryKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    public let maxKeys: Int
    private let state = Mutex(State())

    public init(maxKeys: Int) { self.maxKeys = maxKeys }

    /// The kept listing of the directory stamped `stamp`, if it is still current.
    func listing(for stamp: DirectoryStamp) -> ObjectListing? {
        state.withLock { state in
            let key = DirectoryKey(device: stamp.device, inode: stamp.inode)
            guard var entry = state.entries[key] else { return nil }
            guard entry.stamp == stamp else {
                state.entries[key] = nil
                state.keys -= entry.listing.keys.count
                return nil
            }
            state.clock += 1
            entry.used = state.clock
            state.entries[key] = entry
            return entry.listing
        }
    }

    /// Keeps `listing`, read under `stamp`, dropping the least recently used listings beyond the budget.
    func keep(_ listing: ObjectListing, for stamp: DirectoryStamp) {
        guard listing.keys.count <= maxKeys else { return }
        state.withLock { state in
            let key = DirectoryKey(device: stamp.device, inode: stamp.inode)
            if let old = state.entries.removeValue(forKey: key) { state.keys -= old.listing.keys.count }
            state.clock += 1
            state.entries[key] = Entry(stamp: stamp, listing: listing, used: state.clock)
            state.keys += listing.keys.count
            guard state.keys > maxKeys else { return }
            for (old, entry) in state.entries.sorted(by: { $0.value.used < $1.value.used }) {
                guard state.keys > maxKeys else { break }
                state.entries[old] = nil
                state.keys -= entry.listing.keys.count
            }
        }
    }

    /// How many keys are kept (for tests).
    public var keptKeys: Int { state.withLock { $0.keys } }

    func removeAll() {
        state.withLock { $0 = State() }
    }
}
