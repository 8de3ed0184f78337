import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds a program named without a `/` on `PATH` once, and remembers where (issue #13).
///
/// swift-subprocess looks a bare name up by trying to start it in every `PATH` directory in turn, one child process
/// per directory: with this machine's nine-entry `PATH`, every `flatpak` or `ostree` run of a job cost seven failed
/// children of the server's large process first (3–4 ms each), about 25 ms per command and a tenth of a second per
/// publish. Here the directories are searched with `stat`, as a shell does, the first regular file with an execute
/// bit is taken, and the answer is kept per `PATH` and name; a remembered file that is no longer executable is looked
/// up again. A name found nowhere (or only in a relative `PATH` entry) is left to swift-subprocess, as before.
public enum ExecutableSearch {
    private static let found = Mutex<[String: String]>([:])

    /// The path of `name` on `path` (a `PATH` value), or nil.
    public static func locate(_ name: String, path: String) -> String? {
        guard !name.isEmpty, !name.contains("/") else { return nil }
        let key = path + "\u{0}" + name
        if let known = found.withLock({ $0[key] }), isExecutableFile(known) { return known }
        // Relative entries (an empty one means the working directory) are left to swift-subprocess: the child may
        // run in another directory than the server.
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = directory + "/" + name
            guard isExecutableFile(candidate) else { continue }
            found.withLock { $0[key] = candidate }
            return candidate
        }
        return nil
    }

    /// A regular file (after links) that someone may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
