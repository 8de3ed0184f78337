import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The real `CommandRunning`: spawns the program with swift-subprocess (server.md §4.0).
///
/// stdin is the null device; stdout and stderr are collected (up to `outputLimit` bytes each) and decoded as
/// lossy UTF-8; the environment is the server's own plus `Command.environment`; the child gets its own session,
/// as upstream 0.4 does, so a terminal's signals reach only the server, and so its process group is its own. With a
/// timeout the child is killed when it runs longer (0.5 does this for delta generation). Cancelling the calling
/// task kills the child's whole process group (a lost job lease does that), and with a `watchdog` the group is
/// also killed when the server process dies.
public struct CommandRunner: CommandRunning {
    /// Kill the child after this long; `nil` means wait forever (the reference has no timeouts).
    public var timeout: Duration?
    /// Where each command line and failure is logged at debug level, if anywhere.
    public var logger: Logger?
    /// The most bytes kept of each of stdout and stderr; more makes the run fail.
    public var outputLimit: Int
    /// Kills the children's process groups if this process dies while they run (the server passes its one).
    public var watchdog: ChildWatchdog?

    public init(
        timeout: Duration? = nil, logger: Logger? = nil, outputLimit: Int = 16 * 1024 * 1024,
        watchdog: ChildWatchdog? = nil
    ) {
        self.timeout = timeout
        self.logger = logger
        self.outputLimit = outputLimit
        self.watchdog = watchdog
    }

    @discardableResult
    public func run(_ command: Command) async throws -> CommandOutput {
        logger?.debug("Running \(command)")
        let output: CommandOutput
        if let timeout {
            output = try await runWithTimeout(command, timeout: timeout)
        } else {
            output = try await spawn(command)
        }
        guard output.exitCode == 0 else {
            logger?.debug("Command failed with exit code \(output.exitCode): \(command)")
            throw CommandError.failed(command: command.description, exitCode: output.exitCode, stderr: output.stderr)
        }
        return output
    }

    /// Races the child against a sleep; cancelling the child's task makes swift-subprocess kill it.
    private func runWithTimeout(_ command: Command, timeout: Duration) async throws -> CommandOutput {
        try await withThrowingTaskGroup(of: CommandOutput?.self) { group in
            group.addTask { try await spawn(command) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let output = first else {
                throw CommandError.timedOut(command: command.description, seconds: Int(timeout.components.seconds))
            }
            return output
        }
    }

    /// Starts the program and waits for it; any exit status is returned, only a failed launch throws.
    private func spawn(_ command: Command) async throws -> CommandOutput {
        var options = PlatformOptions()
        options.createSession = true
        // On cancellation: SIGKILL to the child's group (its own: it leads a new session), then to the child.
        options.teardownSequence = [
            .send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(200))
        ]
        let watchdog = watchdog
        let group = RegisteredGroup()
        let searchPath = command.environment["PATH"] ?? getenv("PATH").map { String(cString: $0) } ?? ""
        let executable: Executable
        if command.executable.contains("/") {
            executable = .path(FilePath(command.executable))
        } else if let located = ExecutableSearch.locate(command.executable, path: searchPath) {
            executable = .path(FilePath(located))
        } else {
            executable = .name(command.executable)
        }
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in command.environment {
            guard let key = Environment.Key(rawValue: key) else { continue }
            overrides[key] = value
        }
        do {
            let result = try await Subprocess.run(
                executable,
                arguments: Arguments(command.arguments),
                environment: .inherit.updating(overrides),
                workingDirectory: command.workingDirectory.map { FilePath($0.string) },
                platformOptions: options,
                input: .none,
                output: .bytes(limit: outputLimit),
                error: .bytes(limit: outputLimit)
            ) { execution in
                watchdog?.register(processGroup: execution.processIdentifier.value)
                group.set(execution.processIdentifier.value)
            }
            // The child has been reaped: its number may be reused from now on.
            if let pid = group.take() { watchdog?.unregister(processGroup: pid) }
            return CommandOutput(
                exitCode: Self.exitCode(result.terminationStatus),
                stdout: String(decoding: result.standardOutput, as: UTF8.self),
                stderr: String(decoding: result.standardError, as: UTF8.self),
                stdoutBytes: result.standardOutput)
        } catch let error as SubprocessError {
            if let pid = group.take() { watchdog?.unregister(processGroup: pid) }
            throw CommandError.launchFailed(command: command.description, reason: "\(error)")
        } catch {
            // Cancelled: the teardown has killed and reaped the child.
            if let pid = group.take() { watchdog?.unregister(processGroup: pid) }
            throw error
        }
    }

    /// A signal death is reported like a shell does, as 128 + signal number.
    private static func exitCode(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): return Int32(code)
        case .signaled(let signal): return 128 + Int32(signal)
        }
    }
}

/// The process group a run registered with the watchdog, so that every way out of the run unregisters it once.
private final class RegisteredGroup: Sendable {
    private let pid = Mutex<pid_t?>(nil)

    func set(_ value: pid_t) { pid.withLock { $0 = value } }

    func take() -> pid_t? {
        pid.withLock { value in
            defer { value = nil }
            return value
        }
    }
}
