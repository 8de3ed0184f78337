import Logging
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The real `CommandRunning`: spawns the program with swift-subprocess (server.md §4.0).
///
/// stdin is the null device; stdout and stderr are collected (up to `outputLimit` bytes each) and decoded as
/// lossy UTF-8; the environment is the server's own plus `Command.environment`; the child gets its own session,
/// as upstream 0.4 does, so a terminal's signals reach only the server. With a timeout the child is killed when it
/// runs longer (0.5 does this for delta generation).
public struct CommandRunner: CommandRunning {
    /// Kill the child after this long; `nil` means wait forever (the reference has no timeouts).
    public var timeout: Duration?
    /// Where each command line and failure is logged at debug level, if anywhere.
    public var logger: Logger?
    /// The most bytes kept of each of stdout and stderr; more makes the run fail.
    public var outputLimit: Int

    public init(timeout: Duration? = nil, logger: Logger? = nil, outputLimit: Int = 16 * 1024 * 1024) {
        self.timeout = timeout
        self.logger = logger
        self.outputLimit = outputLimit
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
        let executable: Executable =
            command.executable.contains("/") ? .path(FilePath(command.executable)) : .name(command.executable)
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
            )
            return CommandOutput(
                exitCode: Self.exitCode(result.terminationStatus),
                stdout: String(decoding: result.standardOutput, as: UTF8.self),
                stderr: String(decoding: result.standardError, as: UTF8.self),
                stdoutBytes: result.standardOutput)
        } catch let error as SubprocessError {
            throw CommandError.launchFailed(command: command.description, reason: "\(error)")
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
