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

    static func exists(_ directory: Int32, _ path: UnsafePointer<CChar>) -> Bool {
        var info = stat()
        return fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0
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
            var name: (CChar, CChar, CChar) = (Self.digit(prefix >> 4), Self.digit(prefix & 15), 0)
            var info = stat()
            let found = withUnsafePointer(to: &name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 3) {
                    fstatat(objects, $0, &info, AT_SYMLINK_NOFOLLOW) == 0
                }
            }
            let present = found && (info.st_mode & S_IFMT) == S_IFDIR
            states[prefix] = present ? .present : .absent
            return present
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
    var prefixIndex: Int? {
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

    /// `xx/rest.type`: the object's path inside an `objects` directory.
    var objectsRelativePath: String { "\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(type.rawValue)" }
}
