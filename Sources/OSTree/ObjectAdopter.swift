import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// `BuildStorage.adoptObject` for many names at once: what `missing_objects` does while a prune holds the
/// repository's `AdoptionLock` (otherwise it only looks, `ObjectLookup`, and records what it borrows). The three
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
        let prefix = name.prefixIndex
        if parent >= 0, let prefix, !prefixes[prefix] {
            let made = name.checksum.prefix(2).withCString { mkdirat(own, $0, 0o755) }
            if made == 0 || errno == EEXIST { prefixes[prefix] = true }
        }
        return name.withObjectsRelativePath { path -> Bool in
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

    private static func exists(_ directory: Int32, _ path: UnsafePointer<CChar>) -> Bool {
        var info = stat()
        return fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// The main repository on another file system (the README asks for one): `adoptObject` copies.
    private func copyAcrossFileSystems(_ name: ObjectName) -> Bool {
        fallback.storage.adoptObject(fallback.buildID, name)
    }
}
