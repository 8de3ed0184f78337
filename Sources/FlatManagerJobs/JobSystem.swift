import FlatManagerCore
import FlatManagerStore
import Foundation
import Logging
import OSTree

// Theory of operations
//
// Every piece of background work is a row in `jobs` (server.md §3). The HTTP API inserts commit, publish,
// republish and prune jobs; jobs insert check and update-repo jobs. A `JobDispatcher` runs one worker loop per
// repository queue (publish, update-repo, republish, prune of that repo run one at a time, which keeps two writers
// away from one main repo) and `commit-workers` loops for the global queue (commit and check jobs of different
// builds run in parallel). A loop claims the next runnable job with a lease (`Store.claimNextJob`, `FOR UPDATE
// SKIP LOCKED` on PostgreSQL, a per-repo advisory lock for the serial queues), so several loops and several server
// processes on one database never run a job twice. Leases are renewed while the process lives; a job whose lease
// owner died is broken at the next start-up (`Store.recoverInterruptedJobs`), with upstream's restart rules.
// Each kind is one file with one entry point; a job only appends to its log and changes build/check state through
// the store; the dispatcher alone writes the final status and results.

/// Failure of a job, with the text that ends up in `results.error-message` and in build state reasons.
public struct JobError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Public keys exported from the configured GPG keys, base64, for `GPGKey=` lines of flatpakref files.
public struct ExportedKeys: Sendable, Equatable {
    public var buildKey: String?
    public var repoKeys: [String: String]

    public init(buildKey: String? = nil, repoKeys: [String: String] = [:]) {
        self.buildKey = buildKey
        self.repoKeys = repoKeys
    }
}

/// What every job needs from the server, passed in rather than looked up (STYLE habit 2).
public struct JobEnvironment: Sendable {
    public let store: Store
    public let config: Config
    public let runner: any CommandRunning
    /// The server's one static-delta queue, shared by the update-repo jobs of every repo (and the remote workers).
    public let deltaGenerator: DeltaGenerator
    public let exportedKeys: ExportedKeys
    public let logger: Logger

    public init(
        store: Store, config: Config, runner: any CommandRunning, deltaGenerator: DeltaGenerator,
        exportedKeys: ExportedKeys, logger: Logger
    ) {
        self.store = store
        self.config = config
        self.runner = runner
        self.deltaGenerator = deltaGenerator
        self.exportedKeys = exportedKeys
        self.logger = logger
    }

    /// An environment whose delta queue generates locally with `deltaRunner` (the config's capacity and timeout).
    public init(
        store: Store, config: Config, runner: any CommandRunning, deltaRunner: any CommandRunning,
        exportedKeys: ExportedKeys, logger: Logger
    ) {
        let generator = DeltaGenerator(
            localRunner: deltaRunner, localCapacity: config.localDeltaThreads,
            timeout: .seconds(config.deltaTimeoutSecs), logger: logger)
        self.init(
            store: store, config: config, runner: runner, deltaGenerator: generator, exportedKeys: exportedKeys,
            logger: logger)
    }

    /// `<build-repo-base>/<id>`.
    public func buildDirectory(_ buildID: Int32) -> String { "\(config.buildRepoBase)/\(buildID)" }

    /// Signing arguments for build repos.
    public var buildSigning: GPGSigning { GPGSigning(homedir: config.gpgHomedir, keys: config.buildGPGKeys) }

    public func signing(for repo: RepoConfig) -> GPGSigning {
        GPGSigning(homedir: config.gpgHomedir, keys: repo.gpgKeys)
    }

    public func repoConfig(_ name: String) throws(JobError) -> RepoConfig {
        guard let repo = config.repos[name] else { throw JobError("Can't find repo \(name)") }
        return repo
    }
}

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
            throw JobError(error.description)
        } catch {
            throw JobError("Command \(command.description) failed: \(error)")
        }
    }

    /// Wraps a store call so a database error reads as upstream's `DbError: …`.
    public func db<T>(_ body: () async throws -> T) async throws(JobError) -> T {
        do {
            return try await body()
        } catch {
            throw JobError("DbError: \(String(reflecting: error))")
        }
    }
}

/// One entry point per job kind (STYLE habit 7).
public protocol JobHandler: Sendable {
    static var kind: JobKind { get }
    /// Does the work and returns the results JSON; build/check state changes happen inside.
    func run(in context: JobContext) async throws(JobError) -> String
}

enum JobHandlers {
    /// The handler for a job row, or an error for contents that do not parse ("Unknown job type").
    static func handler(for job: Job) throws(JobError) -> any JobHandler {
        guard let contents = JobContents(kind: job.kind, json: job.contents) else {
            throw JobError("Unknown job type or invalid contents: \(job.contents)")
        }
        switch contents {
        case .commit(let build, let eol, let rebase, let tokenType):
            return CommitJob(buildID: build, endOfLife: eol, endOfLifeRebase: rebase, tokenType: tokenType)
        case .publish(let build):
            return PublishJob(buildID: build)
        case .updateRepo(let repo):
            return UpdateRepoJob(repo: repo)
        case .check(let build, let name):
            return CheckJob(buildID: build, name: name)
        case .republish(let app, let eol, let rebase):
            return RepublishJob(app: app, endOfLife: eol, endOfLifeRebase: rebase)
        case .prune:
            return PruneJob()
        }
    }
}

extension FileManager {
    /// Creates a directory and its parents; an existing directory is fine.
    func makeDirectory(_ path: String) throws(JobError) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw JobError("Cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Writes a text file atomically.
    func writeText(_ text: String, to path: String) throws(JobError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JobError("Cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// `{"refs": {...}}`-style JSON with the refs in the given order.
func refsJSON(_ refs: [(String, String)]) -> String {
    "{" + refs.map { "\(JSONText.string($0.0)):\(JSONText.string($0.1))" }.joined(separator: ",") + "}"
}
