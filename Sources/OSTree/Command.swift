import Foundation
import SystemPackage

/// One external program invocation as a value (STYLE habit 5): argv array, never a shell string.
///
/// Built by the named constructors in `Command+Flatpak.swift` and run by a `CommandRunning`.
public struct Command: Sendable, Equatable, CustomStringConvertible {
    /// The program: an absolute path, or a name looked up in `PATH`.
    public var executable: String
    /// The arguments after the program name.
    public var arguments: [String]
    /// The child's working directory; `nil` means the server's own.
    public var workingDirectory: FilePath?
    /// Variables added to (or overriding) the inherited environment.
    public var environment: [String: String]

    public init(
        executable: String, arguments: [String], workingDirectory: FilePath? = nil,
        environment: [String: String] = [:]
    ) {
        self.executable = executable
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.environment = environment
    }

    /// The program and its arguments, each quoted like a shell would need, for logs and error messages.
    public var description: String {
        ([executable] + arguments).map(Self.quoted).joined(separator: " ")
    }

    /// `word` as is when it is plainly safe, else in single quotes (with `'` escaped the POSIX way).
    static func quoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./:,@%")
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// What a finished command produced. `stdout` and `stderr` are decoded as lossy UTF-8.
public struct CommandOutput: Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    /// stdout exactly as written, for binary output such as `gpg --export`.
    public var stdoutBytes: [UInt8]

    /// `stdoutBytes` defaults to the UTF-8 of `stdout`, which is what a fake runner usually wants.
    public init(exitCode: Int32, stdout: String, stderr: String, stdoutBytes: [UInt8]? = nil) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutBytes = stdoutBytes ?? Array(stdout.utf8)
    }
}

/// Why a command did not succeed. The description is what goes into a job's error and log.
public enum CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program could not be started (not found, not executable, bad working directory, output too large).
    case launchFailed(command: String, reason: String)
    /// The program ran and exited non-zero (or was killed by a signal, reported as 128 + signal).
    case failed(command: String, exitCode: Int32, stderr: String)
    /// The program ran longer than the runner's timeout and was killed.
    case timedOut(command: String, seconds: Int)

    public var description: String {
        switch self {
        case .launchFailed(let command, let reason):
            return "Failed to run command \(command): \(reason)"
        case .failed(let command, _, let stderr):
            // Upstream's (newer, corrected) wording: "Command <cmd> exited unsuccessfully: <stderr>".
            return "Command \(command) exited unsuccessfully: \(stderr)"
        case .timedOut(let command, let seconds):
            return "Command \(command) timed out after \(seconds) seconds"
        }
    }
}

/// Runs commands. The real one is `CommandRunner`; tests pass a fake through the same `init` parameters.
public protocol CommandRunning: Sendable {
    /// Runs `command` to completion. Throws `CommandError.failed` on a non-zero exit.
    @discardableResult
    func run(_ command: Command) async throws -> CommandOutput
}

/// The signing part of flatpak command lines (server.md §4.0 "gpg args").
public struct GPGSigning: Sendable, Equatable {
    /// `--gpg-homedir`, when configured.
    public var homedir: FilePath?
    /// Key ids; each becomes its own `--gpg-sign=` argument (0.5 accepts several keys).
    public var keys: [String]

    public init(homedir: FilePath? = nil, keys: [String] = []) {
        self.homedir = homedir
        self.keys = keys
    }

    /// No signing at all.
    public static let none = GPGSigning()

    /// `--gpg-homedir=H` (if set), then `--gpg-sign=K` for each key, each `=`-joined into one argv element.
    public var arguments: [String] {
        (homedir.map { ["--gpg-homedir=\($0)"] } ?? []) + keys.map { "--gpg-sign=\($0)" }
    }
}
