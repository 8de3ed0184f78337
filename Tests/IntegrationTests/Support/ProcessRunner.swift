import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished command printed and how it ended.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    var succeeded: Bool { status == 0 }
}

/// Runs external commands for the tests: argument arrays (no shell), output captured through files (so that
/// neither stream can fill a pipe and block the child), stdin from /dev/null, and a deadline.
enum ProcessRunner {
    /// Runs `executable` with `arguments` and returns its result, whatever the exit status.
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: URL? = nil, timeout: Duration = .seconds(300)
    ) async throws -> ProcessResult {
        let outputDirectory = try TempDirectory(prefix: "flat-manager-run")
        let stdoutURL = outputDirectory.appending("stdout")
        let stderrURL = outputDirectory.appending("stderr")
        let process = try launch(
            executable, arguments, environment: environment, currentDirectory: currentDirectory,
            stdout: stdoutURL, stderr: stderrURL)
        let handle = ProcessHandle(process)
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
    static func check(
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
    static func launch(
        _ executable: URL, _ arguments: [String], environment: [String: String]?, currentDirectory: URL?,
        stdout: URL, stderr: URL
    ) throws -> Process {
        FileManager.default.createFile(atPath: stdout.path, contents: nil)
        FileManager.default.createFile(atPath: stderr.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try process.run()
        return process
    }

    /// A file's text, or "" when unreadable (used for captured output).
    static func readText(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}

/// A launched process that can be signalled and awaited from any task.
///
/// `Process` is not Sendable; it is only touched through `isRunning`, `terminationStatus` and
/// `processIdentifier`, which Foundation makes safe to read from any thread, hence `@unchecked Sendable`.
final class ProcessHandle: @unchecked Sendable {
    private let process: Process

    init(_ process: Process) { self.process = process }

    var processIdentifier: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var terminationStatus: Int32 { process.terminationStatus }

    /// Sends a signal (SIGTERM, SIGKILL, ...) to the process.
    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits until the process has exited; false when the timeout passed first.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
