import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Kills the process groups of the server's running children when the server dies, however it dies (issue 14
/// point 3: children ran on after a `kill -9` of the server and kept writing into the repositories).
///
/// One small helper process per server (`/bin/sh` running `script`, in a session of its own) holds one end of a
/// socket pair on its stdin; the server holds the other end, close-on-exec, so no other child inherits it. The
/// command runner registers each child's process group (`+PGID`) when it starts and unregisters it (`-PGID`) when
/// it has ended. When the server process ends, the kernel closes its end, the helper reads end-of-file and sends
/// SIGKILL to every group still registered: the child and everything it started that stayed in its group (hooks
/// that fork included). `PR_SET_PDEATHSIG` is not used: swift-subprocess offers no hook between fork and exec on
/// Linux, and the signal would fire when the spawning *thread* exits, which pool threads do when idle.
///
/// The helper ignores SIGTERM, SIGINT, SIGHUP and SIGQUIT, so a supervisor's stop signal reaches the server first and
/// the helper outlives the graceful shutdown. A child that is spawned in the instant the server dies, before it is
/// registered, is not covered.
public final class ChildWatchdog: Sendable {
    /// The helper's program: tracks the registered groups, kills those left when its stdin ends.
    static let script = """
        trap '' HUP INT TERM QUIT PIPE
        groups=' '
        while IFS= read -r line; do
            case "$line" in
                +[0-9]*) groups="$groups${line#+} " ;;
                -[0-9]*)
                    group=${line#-}
                    case "$groups" in *" $group "*) groups="${groups%% $group *} ${groups#* $group }" ;; esac ;;
            esac
        done
        for group in $groups; do kill -9 "-$group" 2>/dev/null; done
        """

    /// The process id of the helper.
    public let helperPID: pid_t
    /// The server's end of the socket pair (-1 once closed) and the groups registered now.
    private let state: Mutex<(socket: Int32, groups: Set<pid_t>)>

    private init(helperPID: pid_t, socket: Int32) {
        self.helperPID = helperPID
        self.state = Mutex((socket: socket, groups: []))
    }

    /// The process groups registered and not yet unregistered.
    public var registeredGroups: Set<pid_t> { state.withLock { $0.groups } }

    /// Starts the helper. `shell` is a POSIX shell (`/bin/sh`).
    public static func start(shell: String = "/bin/sh") throws(ChildWatchdogError) -> ChildWatchdog {
        var ends: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw .start("socketpair: errno \(errno)") }
        defer { Glibc.close(ends[1]) }
        do {
            let pid = try spawnHelper(shell: shell, stdin: ends[1])
            return ChildWatchdog(helperPID: pid, socket: ends[0])
        } catch {
            Glibc.close(ends[0])
            throw error
        }
    }

    /// Registers a child's process group: it is killed if this process dies before `unregister`.
    public func register(processGroup: pid_t) {
        send("+\(processGroup)\n") { $0.insert(processGroup) }
    }

    /// Unregisters a group whose leader has ended (and was reaped), so a reused number is never killed.
    public func unregister(processGroup: pid_t) {
        send("-\(processGroup)\n") { $0.remove(processGroup) }
    }

    /// Closes the server's end now: the helper kills every group still registered and exits. Later registrations
    /// are ignored.
    public func close() {
        state.withLock { state in
            guard state.socket >= 0 else { return }
            Glibc.close(state.socket)
            state.socket = -1
        }
    }

    /// One short line per call; `MSG_NOSIGNAL`, so a dead helper is an ignored error rather than a SIGPIPE.
    private func send(_ line: String, _ update: (inout Set<pid_t>) -> Void) {
        state.withLock { state in
            guard state.socket >= 0 else { return }
            let fd = state.socket
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            }
            update(&state.groups)
        }
    }

    /// glibc's `POSIX_SPAWN_SETSID` (2.26+), which the Glibc module does not export (it is a `__USE_GNU` macro).
    static let spawnSetsid: Int16 = 0x80

    /// `posix_spawn` of `shell -c script` with `stdin` as fd 0, `/dev/null` as 1 and 2, in a new session.
    private static func spawnHelper(shell: String, stdin: Int32) throws(ChildWatchdogError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw .start("posix_spawn_file_actions_init") }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { throw .start("posix_spawnattr_init") }
        defer { posix_spawnattr_destroy(&attributes) }
        // dup2 clears close-on-exec on the copy; the original stays close-on-exec.
        var result = posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        if result == 0 { result = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        if result == 0 { result = posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        if result == 0 { result = posix_spawnattr_setflags(&attributes, Self.spawnSetsid) }
        guard result == 0 else { throw .start("posix_spawn set-up: error \(result)") }
        let arguments = [shell, "-c", script, "flat-manager-child-watchdog"]
        let environment = ["PATH=/usr/bin:/bin"]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        result = posix_spawn(&pid, shell, &actions, &attributes, argv, envp)
        guard result == 0 else { throw .start("posix_spawn \(shell): error \(result)") }
        return pid
    }
}

/// Why the child watchdog could not be started.
public enum ChildWatchdogError: Error, Sendable, Equatable, CustomStringConvertible {
    case start(String)

    public var description: String {
        switch self {
        case .start(let reason): return "Cannot start the child watchdog: \(reason)"
        }
    }
}
