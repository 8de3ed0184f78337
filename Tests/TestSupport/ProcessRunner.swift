import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished command printed and how it ended.
package struct ProcessResult: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String

    package var succeeded: Bool { status == 0 }
}

/// Runs external commands for the tests: argument arrays (no shell), output captured through files (so that
/// neither stream can fill a pipe and block the child), stdin from /dev/null, and a deadline.
package enum ProcessRunner {
    /// Runs `executable` with `arguments` and returns its result, whatever the exit status.
    package static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: URL? = nil, timeout: Duration = .seconds(300)
    ) async throws -> ProcessResult {
        let outputDirectory = try TempDirectory(prefix: "flat-manager-run")
        let stdoutURL = outputDirectory.appending("stdout")
        let stderrURL = outputDirectory.appending("stderr")
        let handle = try launch(
            executable, arguments, environment: environment, currentDirectory: currentDirectory,
            stdout: stdoutURL, stderr: stderrURL)
        let exited = await handle.waitForExit(timeout: timeout)
        if !exited {
            handle.signal(SIGKILL)
            _ = await handle.waitForExit(timeout: .seconds(10))
            throw TestSupportError.timedOut("\(executable.lastPathComponent) \(arguments.joined(separator: " "))")
        }
        return ProcessResult(
            status: handle.terminationStatus, stdout: readText(stdoutURL), stderr: readText(stderrURL))
    }

    /// Runs a command and throws `commandFailed` (with both outputs) unless it exits 0.
    @discardableResult
    package static func check(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: URL? = nil, timeout: Duration = .seconds(300)
    ) async throws -> ProcessResult {
        let result = try await run(
            executable, arguments, environment: environment, currentDirectory: currentDirectory, timeout: timeout)
        guard result.succeeded else {
            throw TestSupportError.commandFailed(
                command: ([executable.path] + arguments).joined(separator: " "), status: result.status,
                stdout: result.stdout, stderr: result.stderr)
        }
        return result
    }

    /// Starts a process whose output goes to the given files (created or truncated).
    package static func launch(
        _ executable: URL, _ arguments: [String], environment: [String: String]?, currentDirectory: URL?,
        stdout: URL, stderr: URL
    ) throws -> ProcessHandle {
        let pid = try Spawn.start(
            executable: executable.path, arguments: [executable.path] + arguments,
            environment: environment ?? TestEnvironment.environment, directory: currentDirectory?.path,
            stdout: stdout.path, stderr: stderr.path)
        return ProcessHandle(pid: pid)
    }

    /// A file's text, or "" when unreadable (used for captured output).
    package static func readText(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}

/// A launched process that can be signalled and awaited from any task.
///
/// Not Foundation's `Process`: on Linux it reports a child as running for as long as any grandchild holds the
/// descriptors it inherited (a server killed while its `flatpak` child sleeps would look alive). This handle
/// reaps its own child with `waitpid`, which sees exactly the child's exit.
package final class ProcessHandle: Sendable {
    package let processIdentifier: pid_t
    /// The wait status once the child has been reaped.
    private let waitStatus = Mutex<Int32?>(nil)

    package init(pid: pid_t) { processIdentifier = pid }

    /// False once the child has exited (and has been reaped).
    package var isRunning: Bool { reap() == nil }

    /// The exit code, or 128 + the signal number for a child killed by a signal (as a shell reports it);
    /// -1 while running.
    package var terminationStatus: Int32 {
        guard let status = reap() else { return -1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Sends a signal (SIGTERM, SIGKILL, ...) unless the child has already been reaped.
    package func signal(_ signal: Int32) {
        waitStatus.withLock { status in
            if status == nil { _ = kill(processIdentifier, signal) }
        }
    }

    /// Waits until the process has exited; false when the timeout passed first.
    package func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// The wait status if the child has exited, reaping it on the first call that sees the exit.
    private func reap() -> Int32? {
        waitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let result = waitpid(processIdentifier, &raw, WNOHANG)
            if result == processIdentifier {
                status = raw
            } else if result < 0 {
                status = 0x7f  // not our child any more (ECHILD): report it as ended by an unknown signal
            }
            return status
        }
    }
}

/// `posix_spawn` with stdin from /dev/null, stdout/stderr into files, a working directory and default signal
/// handling in the child.
package enum Spawn {
    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32

    /// glibc ≥ 2.29 has `posix_spawn_file_actions_addchdir_np`, but Swift does not import it (it needs
    /// _GNU_SOURCE), so it is looked up at run time.
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34): the child keeps only 0, 1 and 2. Without it, a server a
    /// test starts inherits every descriptor the test process has open at that moment, such as another test's
    /// script being written, which then cannot be executed ("Text file busy") for as long as that server lives.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    package static func start(
        executable: String, arguments: [String], environment: [String: String], directory: String?,
        stdout: String, stderr: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = addCloseFrom?(&actions, 3)
        if let directory {
            guard let addChdir else {
                throw TestSupportError.unexpected("posix_spawn_file_actions_addchdir_np missing")
            }
            _ = addChdir(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        var result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        // A script written a moment ago can be briefly "busy": a child forked concurrently by another test may
        // still hold the writer's descriptor until it execs. Retry instead of failing that test at random.
        var attempts = 0
        while result == ETXTBSY && attempts < 50 {
            attempts += 1
            usleep(100_000)
            result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard result == 0 else {
            throw TestSupportError.unexpected("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
