import FlatManagerCore
import Foundation
import OSTree
import SystemPackage

/// Operator-configured programs (publish hook, check hooks, post-publish script; server.md §1.5) as jobs run them.
///
/// A hook gets the server's environment (as upstream: `GNUPGHOME`, proxies, cloud credentials and the
/// operator's own variables reach it), narrowed to the names of `hook-environment` when that is set, plus the
/// `FLAT_MANAGER_*` variables of its job. The environment is handed down from `main` (`JobEnvironment`), never read
/// here. The program and its arguments are an argv array, never a shell string. The environment is replaced with
/// `env -i NAME=VALUE… PROGRAM ARGS…`, so the command runner needs no special mode.
enum Hook {
    /// The variables a hook inherits from `serverEnvironment`: all of them, or those named by `allowList`.
    static func inherited(from serverEnvironment: [String: String], allowList: [String]?) -> [String: String] {
        guard let allowList else { return serverEnvironment }
        return serverEnvironment.filter { allowList.contains($0.key) }
    }

    /// Where `env` lives on every supported system (coreutils).
    static let envProgram = "/usr/bin/env"

    /// The command that runs `argv` in `workingDirectory` with the `inherited` variables and `variables` (which win).
    static func command(
        argv: [String], workingDirectory: FilePath?, variables: [String: String], inherited: [String: String]
    ) throws(JobError) -> Command {
        guard let program = argv.first, !program.isEmpty else { throw .unusableHook("The hook has no command") }
        // `env` would read a program name containing `=` as one more variable, or one starting with `-` as an
        // option; no real program path looks like that.
        guard !program.contains("="), !program.hasPrefix("-") else {
            throw .unusableHook("Hook program \(program) is not a usable program name")
        }
        // `env` reads NAME=VALUE up to the first `=`: a name with `=` (impossible in a real environment) is dropped.
        var environment = inherited.filter { !$0.key.isEmpty && !$0.key.contains("=") }
        environment.merge(variables) { _, new in new }
        let assignments = environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" }
        return Command(
            executable: envProgram, arguments: ["-i"] + assignments + argv, workingDirectory: workingDirectory)
    }

    /// `argv` as a readable command line, for logs and error messages (without the `env` wrapper).
    static func displayName(_ argv: [String]) -> String {
        Command(executable: argv.first ?? "", arguments: Array(argv.dropFirst())).description
    }

    /// Runs a hook; its stdout and stderr go to the job log. A non-zero exit throws `HookFailure`.
    static func run(
        _ label: String, argv: [String], workingDirectory: FilePath?, variables: [String: String],
        in context: JobContext
    ) async throws(HookFailure) {
        let command: Command
        do {
            command = try Self.command(
                argv: argv, workingDirectory: workingDirectory, variables: variables,
                inherited: context.environment.hookEnvironment)
        } catch {
            throw HookFailure(label: label, argv: argv, exitCode: nil, stderr: error.description)
        }
        let output: CommandOutput
        do {
            output = try await context.environment.runner.run(command)
        } catch CommandError.failed(_, let exitCode, let stderr) {
            if !stderr.isEmpty { await context.log("\(label) stderr:\n\(stderr)") }
            // `env` itself reports a program it cannot start with 126/127 and a message of its own.
            let notStarted = (exitCode == 126 || exitCode == 127) && stderr.hasPrefix("\(envProgram): ")
            throw HookFailure(label: label, argv: argv, exitCode: notStarted ? nil : exitCode, stderr: stderr)
        } catch {
            throw HookFailure(label: label, argv: argv, exitCode: nil, stderr: "\(error)")
        }
        if !output.stdout.isEmpty { await context.log("\(label) output:\n\(output.stdout)") }
        if !output.stderr.isEmpty { await context.log("\(label) stderr:\n\(output.stderr)") }
    }

    /// Runs a hook whose failure fails the job (publish hook, post-publish script).
    static func runRequired(
        _ label: String, argv: [String], workingDirectory: FilePath?, variables: [String: String],
        in context: JobContext
    ) async throws(JobError) {
        try await context.ensureLease()
        do {
            try await run(label, argv: argv, workingDirectory: workingDirectory, variables: variables, in: context)
        } catch {
            throw .hook(error)
        }
    }
}

/// A hook that did not succeed: it exited non-zero (`exitCode`) or could not be started (`exitCode` nil).
public struct HookFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the hook is to the job log: "Publish hook", "Check command", "Post-publish script".
    public let label: String
    public let argv: [String]
    public let exitCode: Int32?
    public let stderr: String

    public var description: String {
        let command = Hook.displayName(argv)
        let trimmed = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let exitCode else { return "\(label) \(command) could not be run: \(trimmed)" }
        return "\(label) \(command) failed with exit status \(exitCode)" + (trimmed.isEmpty ? "" : ": \(trimmed)")
    }
}
