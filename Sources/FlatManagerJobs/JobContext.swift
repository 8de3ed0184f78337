import FlatManagerCore
import FlatManagerStore
import Logging
import OSTree

/// The running job as a job kind sees it: its row, the environment, its log, and the lease that fences its writes.
public struct JobContext: Sendable {
    public let job: Job
    public let environment: JobEnvironment
    /// The claim this run holds; `nil` only where a test runs a job kind without the queue.
    public let lease: JobLease?

    public init(job: Job, environment: JobEnvironment, lease: JobLease? = nil) {
        self.job = job
        self.environment = environment
        self.lease = lease
    }

    public var store: Store { environment.store }

    /// Appends a whole line to the job's log (clients follow it by byte offset) and to the server log. With a
    /// lease the append is conditional on it: a worker that lost its job writes nothing more into its log.
    public func log(_ line: String) async {
        environment.logger.info("#\(job.id): \(line)")
        do {
            if let lease {
                let written = try await environment.store.appendJobLog(id: job.id, text: line + "\n", lease: lease)
                if !written {
                    environment.logger.warning("#\(job.id): not logged, the lease is lost: \(line)")
                }
            } else {
                try await environment.store.appendJobLog(id: job.id, text: line + "\n")
            }
        } catch {
            environment.logger.error("#\(job.id): cannot append to the job log: \(String(reflecting: error))")
        }
    }

    /// Throws `lostLease` unless this run still holds its job (called before every step that writes a repo; store
    /// transactions check it themselves). A cancelled run has lost its lease too: the dispatcher cancels a job
    /// only when the lease is gone.
    public func ensureLease() async throws(JobError) {
        guard let lease else { return }
        if Task.isCancelled { throw .lostLease(lease.description) }
        let holds: Bool
        do {
            holds = try await environment.store.holdsLease(lease)
        } catch {
            throw .database(String(reflecting: error))
        }
        guard holds else { throw .lostLease(lease.description) }
    }

    /// Runs a command; a failure becomes a `JobError` carrying the command and its stderr. The lease is checked
    /// before (nothing is started for a lost job) and after (a job never acts on a command that ended after its
    /// lease did).
    @discardableResult
    public func run(_ command: Command, runner: (any CommandRunning)? = nil) async throws(JobError) -> CommandOutput {
        try await ensureLease()
        let output: CommandOutput
        do {
            output = try await (runner ?? environment.runner).run(command)
        } catch let error as CommandError {
            try await ensureLease()
            throw .command(error)
        } catch {
            try await ensureLease()
            throw .runner(command: command.description, reason: "\(error)")
        }
        try await ensureLease()
        return output
    }

    /// Wraps a store call so a database error reads as upstream's `DbError: …` and a refused fenced write as
    /// `lostLease`.
    public func db<T>(_ body: () async throws -> T) async throws(JobError) -> T {
        do {
            return try await body()
        } catch StoreError.leaseLost(let lease) {
            throw .lostLease(lease)
        } catch {
            throw .database(String(reflecting: error))
        }
    }
}
