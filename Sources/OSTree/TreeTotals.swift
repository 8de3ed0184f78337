import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What is below a directory, counted by `DirectoryWalk.totals(below:countingFilesNamed:until:)`.
public struct TreeTotals: Sendable, Equatable {
    /// The sizes of the regular files, added (saturating).
    public var bytes: UInt64 = 0
    /// How many regular files there are.
    public var files = 0
    /// How many of them have the name asked for.
    public var named = 0

    public init(bytes: UInt64 = 0, files: Int = 0, named: Int = 0) {
        self.bytes = bytes
        self.files = files
        self.named = named
    }
}

extension DirectoryWalk {
    /// How deep `totals` descends; a repository is a few levels deep, anything below this is not counted (a
    /// descriptor stays open per level).
    public static let maximumTotalsDepth = 64

    /// Counts the regular files below `root` and their sizes without listing them: one `readdir` pass per directory
    /// and one `fstatat` per file, relative to descriptors opened with `O_NOFOLLOW` (a symbolic link is neither
    /// followed nor counted; `root` itself is resolved as given). A repository of a million objects is a million
    /// system calls and no memory; the metrics sampler walks every repository with it.
    ///
    /// `stop` is asked between directories; when it answers true the walk ends and the result is `nil` (a shutdown
    /// does not wait for a large walk). `nil` also when `root` cannot be opened.
    public static func totals(
        below root: FilePath, countingFilesNamed name: String? = nil, until stop: () -> Bool = { false }
    ) -> TreeTotals? {
        let descriptor = open(root.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var totals = TreeTotals()
        let finished = (name ?? "").withCString { wanted in
            walk(descriptor, depth: 0, named: name == nil ? nil : wanted, into: &totals, until: stop)
        }
        return finished ? totals : nil
    }

    /// Adds what is below the open directory `descriptor` (closed here); false when `stop` ended the walk.
    private static func walk(
        _ descriptor: Int32, depth: Int, named wanted: UnsafePointer<CChar>?, into totals: inout TreeTotals,
        until stop: () -> Bool
    ) -> Bool {
        guard let directory = fdopendir(descriptor) else {
            close(descriptor)
            return true
        }
        defer { closedir(directory) }
        guard !stop() else { return false }
        let parent = dirfd(directory)
        while let entry = readdir(directory) {
            let finished = withUnsafePointer(to: &entry.pointee.d_name) { raw -> Bool in
                raw.withMemoryRebound(to: CChar.self, capacity: 256) { name -> Bool in
                    if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return true }
                    return visit(
                        name, type: entry.pointee.d_type, in: parent, depth: depth, named: wanted, into: &totals,
                        until: stop)
                }
            }
            guard finished else { return false }
        }
        return true
    }

    private static func visit(
        _ name: UnsafePointer<CChar>, type: UInt8, in parent: Int32, depth: Int, named wanted: UnsafePointer<CChar>?,
        into totals: inout TreeTotals, until stop: () -> Bool
    ) -> Bool {
        var type = Int32(type)
        var info = stat()
        if type == Int32(DT_UNKNOWN) || type == Int32(DT_REG) {
            // The file system does not say (or it is a file, whose size is wanted): ask without following links.
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return true }
            switch info.st_mode & S_IFMT {
            case S_IFREG: type = Int32(DT_REG)
            case S_IFDIR: type = Int32(DT_DIR)
            default: return true
            }
        }
        if type == Int32(DT_REG) {
            totals.bytes =
                totals.bytes.addingReportingOverflow(UInt64(clamping: info.st_size)).overflow
                ? .max : totals.bytes &+ UInt64(clamping: info.st_size)
            totals.files += 1
            if let wanted, strcmp(name, wanted) == 0 { totals.named += 1 }
            return true
        }
        guard type == Int32(DT_DIR), depth + 1 < maximumTotalsDepth else { return true }
        let child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else { return true }
        return walk(child, depth: depth + 1, named: wanted, into: &totals, until: stop)
    }
}
