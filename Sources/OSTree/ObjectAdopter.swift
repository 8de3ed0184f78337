import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// `BuildStorage.adoptObject` for many names at once (`missing_objects` asks for up to ~140,000): the three
/// `objects` directories involved are opened once, and each name costs one or two system calls on paths relative to
/// them instead of string-built absolute paths and `FileManager` checks.
///
/// Per name, in this order: a hard link from the main repository's object into the build repository (`linkat`; done,
/// or the build has it already: EEXIST); else whether the client uploaded it or the build has it (`fstatat` in
/// `upload/objects`, then in `objects`). The build's `objects/xx` directory is made the first time a prefix is
/// seen, so a failed link means the main repository does not have the object: one system call for an object of the
/// main repository, three for one that is nowhere. The answer is the same as `adoptObject`'s for every name; the only
/// difference is that an object both uploaded and in the main repository is also linked, which changes nothing for
/// the commit (it imports what it finds).
public struct ObjectAdopter: ~Copyable {
    private let own: Int32
    private let upload: Int32
    private let parent: Int32
    private let fallback: (storage: BuildStorage, buildID: Int32)
    /// Which `objects/xx` directories of the build are known to exist.
    private var prefixes = [Bool](repeating: false, count: 256)

    /// Opens the build's `objects`, its upload repository's `objects` (absent after the commit) and the main
    /// repository's `objects` through the `parent` link. Throws when the build repository cannot be opened.
    public init(storage: BuildStorage, buildID: Int32) throws {
        let directory = storage.directory(buildID)
        let own = open(directory.appending("objects").string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard own >= 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        self.own = own
        upload = open(
            storage.uploadDirectory(buildID).appending("objects").string,
            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        // `parent` is the one link that is meant to be followed: it points at the main repository.
        parent = open(storage.parentDirectory(buildID).appending("objects").string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        fallback = (storage, buildID)
    }

    deinit {
        close(own)
        if upload >= 0 { close(upload) }
        if parent >= 0 { close(parent) }
    }

    /// Whether the build has `name` (uploaded, its own, or now linked from the main repository).
    public mutating func adopt(_ name: ObjectName) -> Bool {
        let prefix = Self.prefixIndex(name.checksum)
        if parent >= 0, let prefix, !prefixes[prefix] {
            let made = name.checksum.prefix(2).withCString { mkdirat(own, $0, 0o755) }
            if made == 0 || errno == EEXIST { prefixes[prefix] = true }
        }
        return Self.withRelativePath(name) { path -> Bool in
            if parent >= 0 {
                if linkat(parent, path, own, path, 0) == 0 { return true }
                switch errno {
                case EEXIST: return true
                case ENOENT: break
                case EXDEV: return copyAcrossFileSystems(name)
                default: break
                }
            }
            // Not in the main repository: uploaded, or the build's own (from an earlier call, or committed).
            return (upload >= 0 && Self.exists(upload, path)) || Self.exists(own, path)
        }
    }

    /// Calls `body` with `xx/rest.type` as a C string built on the stack (a `String` per name cost more than the
    /// system calls themselves).
    private static func withRelativePath(_ name: ObjectName, _ body: (UnsafePointer<CChar>) -> Bool) -> Bool {
        let type = name.type.rawValue.utf8
        let built = name.checksum.utf8.withContiguousStorageIfAvailable { hex -> Bool in
            guard hex.count == 64 else { return name.objectsRelativePath.withCString(body) }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64 + type.count + 3) { path -> Bool in
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
                guard let start = path.baseAddress else { return name.objectsRelativePath.withCString(body) }
                return body(start)
            }
        }
        return built ?? name.objectsRelativePath.withCString(body)
    }

    private static func exists(_ directory: Int32, _ path: UnsafePointer<CChar>) -> Bool {
        var info = stat()
        return fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// The main repository on another file system (the README asks for one): `adoptObject` copies.
    private func copyAcrossFileSystems(_ name: ObjectName) -> Bool {
        fallback.storage.adoptObject(fallback.buildID, name)
    }

    /// The first byte of a checksum as an index (two lowercase hex digits), nil for anything else.
    private static func prefixIndex(_ checksum: String) -> Int? {
        var value = 0
        var count = 0
        for byte in checksum.utf8.prefix(2) {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
            default: return nil
            }
            value = value * 16 + digit
            count += 1
        }
        return count == 2 ? value : nil
    }
}

extension ObjectName {
    /// `xx/rest.type`: the object's path inside an `objects` directory.
    var objectsRelativePath: String { "\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(type.rawValue)" }
}
