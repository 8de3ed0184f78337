import FlatManagerCore
import FlatManagerStore
import Logging
import OSTree

/// The running job as a job kind sees it: its row, the environment, and its log.
public struct JobContext: Sendable {
    public let job: Job
    public let environment: JobEnvironment

    public var store: Store { environment.store }

    /// Appends a whole line to the job's log (clients follow it by byte offset) and to the server log.
    public func log(_ line: String) async {
        environment.logger.info("#\(job.id): \(line)")
        do {
            try await environment.store.appendJobLog(id: job.id, text: line + "\n")
        } catch {
            environment.logger.error("#\(job.id): cannot append to the job log: \(String(reflecting: error))")
        }
    }

    /// Runs a command; a failure becomes a `JobError` carrying the command and its stderr.
    @discardableResult
    public func run(_ command: Command, runner: (any CommandRunning)? = nil) async throws(JobError) -> CommandOutput {
        do {
            return try await (runner ?? environment.runner).run(command)
        } catch let error as CommandError {
            throw .command(error)
        } catch {
            throw .runner(command: command.description, reason: "\(error)")
        }
    }

    /// Wraps a store call so a database error reads as upstream's `DbError: …`.
    public func db<T>(_ body: () async throws -> T) async throws(JobError) -> T {
        do {
            return try await body()
        } catch {
            throw .database(String(reflecting: error))
        }
    }
}
