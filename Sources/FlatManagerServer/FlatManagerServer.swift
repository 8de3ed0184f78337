import ArgumentParser
import FlatManagerAPI
import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import Hummingbird
import Logging
import OSTree
import ServiceLifecycle
import SystemPackage

/// `flat-manager`: loads the configuration, migrates the database, and runs the job dispatcher and the HTTP server
/// in one service group until SIGTERM (graceful, bounded) or SIGINT/SIGQUIT (immediate HTTP stop); see `Shutdown`.
@main
struct FlatManagerServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flat-manager",
        abstract: "Serve and maintain a Flatpak repository (flat-manager compatible).",
        version: "0.5.0-swift")

    @Flag(
        name: .customLong("check-config"), help: "Validate the configuration (keys, repo paths, GPG keys), then exit.")
    var checkConfig = false

    func run() async throws {
        let cwd = FilePath(FileManager.default.currentDirectoryPath)
        let dotEnv = Startup.loadDotEnv(from: cwd)
        let environment = ProcessInfo.processInfo.environment
        let configPath = environment["REPO_CONFIG"] ?? "config.json"
        let loaded = Result { () throws(ConfigError) -> Config in
            try Config.load(path: FilePath(configPath), workingDirectory: cwd)
        }
        if checkConfig { try await Self.check(loaded, file: configPath) }
        let (levels, format) = Startup.bootstrapLogging(environment: environment, config: try? loaded.get())
        let logger = Logger(label: "flat-manager")
        if let dotEnv { logger.debug("Loaded \(dotEnv)") }
        let config: Config
        do {
            config = try loaded.get()
        } catch {
            logger.critical("Failed to read config file \(configPath): \(error)")
            throw ExitCode.failure
        }
        let httpThreads: Int
        do {
            httpThreads = try Startup.httpThreads(environment: environment, config: config)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        // Clamped: `Task.sleep` traps on a duration whose deadline does not fit in Int64 seconds (e.g. Int.max).
        let interval =
            environment["FLAT_MANAGER_METRICS_INTERVAL"].flatMap(Int.init).map { min(max($0, 1), 86_400) } ?? 60
        // Ours: the job lease in seconds (default 60). Shorter leases let another process take over a stalled one's
        // jobs sooner; the two-process tests use 3.
        let leaseSeconds =
            environment["FLAT_MANAGER_LEASE_SECONDS"].flatMap(Int.init).map { min(max($0, 2), 3600) } ?? 60
        try await Startup.run(
            config: config, workingDirectory: cwd, logger: logger, metricsInterval: .seconds(interval),
            httpThreads: httpThreads, serverEnvironment: environment, leaseSeconds: leaseSeconds,
            accessLevel: levels.access, textLog: format == .text)
    }

    /// `--check-config`: prints `OK <file>` and exits 0, or one line per problem (naming file and key) and exits 1.
    static func check(_ loaded: Result<Config, ConfigError>, file: String) async throws -> Never {
        var problems: [ConfigError]
        switch loaded {
        case .success(let config):
            problems = await CheckConfig.problems(in: config, file: file, runner: CommandRunner())
        case .failure(let error):
            problems = [error]
        }
        guard problems.isEmpty else {
            for problem in problems { print("error: \(problem)") }
            throw ExitCode.failure
        }
        print("OK \(file)")
        throw ExitCode.success
    }
}

/// The start-up sequence of server.md §7.1, with every piece passed down as a value.
enum Startup {
    /// Exports the `.env` variables not already set (upstream's dotenv behaviour); returns the file it read.
    static func loadDotEnv(from directory: FilePath) -> FilePath? {
        guard let path = DotEnv.find(from: directory),
            let text = try? String(contentsOfFile: path.string, encoding: .utf8)
        else { return nil }
        for (key, value) in DotEnv.parse(text) where ProcessInfo.processInfo.environment[key] == nil {
            setenv(key, value, 0)
        }
        return path
    }

    /// Text (swift-log's stream format) or JSON lines on standard error, written off the request path by
    /// `LogSink`; `FLAT_MANAGER_LOG_FORMAT` beats the config's `log-format`. The levels follow `FLAT_MANAGER_LOG`,
    /// else `RUST_LOG` (`LogLevels`). Every line carries the metadata of the request or job it belongs to
    /// (`LogContext`). Returns the levels, for the access log's own logger, and the format.
    @discardableResult
    static func bootstrapLogging(environment: [String: String], config: Config?) -> (LogLevels, LogFormat) {
        let levels = LogLevels(environment: environment)
        let format =
            environment["FLAT_MANAGER_LOG_FORMAT"].flatMap { LogFormat(rawValue: $0) } ?? config?.logFormat ?? .text
        atexit { LogSink.standardError.flush() }
        LoggingSystem.bootstrap(
            { label, provider in
                switch format {
                case .text:
                    TextLogHandler(
                        label: label, sink: .standardError, logLevel: levels.server, metadataProvider: provider)
                case .json:
                    JSONLogHandler(label: label, logLevel: levels.server, metadataProvider: provider)
                }
            }, metadataProvider: LogContext.provider)
        return (levels, format)
    }

    /// The number of HTTP event-loop threads: `ACTIX_WORKERS` (upstream 0.5's override, kept for operators who set
    /// it), else the config's `workers`, else the number of cores. An unusable `ACTIX_WORKERS` stops the start-up.
    static func httpThreads(environment: [String: String], config: Config) throws(ConfigError) -> Int {
        if let text = environment["ACTIX_WORKERS"], !text.isEmpty {
            guard let value = Int(text), (1...1024).contains(value) else {
                throw ConfigError(
                    file: "environment", key: "ACTIX_WORKERS", message: "expected an integer in 1...1024, got \(text)")
            }
            return value
        }
        return config.workers ?? ProcessInfo.processInfo.activeProcessorCount
    }

    static func run(
        config: Config, workingDirectory: FilePath, logger: Logger, metricsInterval: Duration, httpThreads: Int,
        serverEnvironment: [String: String], leaseSeconds: Int, accessLevel: Logger.Level, textLog: Bool = false
    ) async throws {
        // Children die with the server, even on SIGKILL (issue 14 point 3).
        let watchdog: ChildWatchdog
        do {
            watchdog = try ChildWatchdog.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        let runner = CommandRunner(watchdog: watchdog)
        let keys = try await exportKeys(config: config, runner: runner, logger: logger)
        let store = try await Store.open(
            databaseURL: config.databaseURL, workingDirectory: workingDirectory, logger: logger)
        do {
            try await store.migrate()
            let owner = JobDispatcher.processOwner()
            let repos = try await store.recoverInterruptedJobs(
                owner: owner, isOwnerAlive: JobDispatcher.isOwnerAlive, maxResumes: config.jobMaxResumes)
            for repo in repos { logger.info("Jobs of repo \(repo) are queued again after an interruption") }
        } catch {
            logger.critical("Database start-up failed: \(String(reflecting: error))")
            try? await store.close()
            throw ExitCode.failure
        }
        // One delta queue for every repo (local generation with the timeout, or the remote workers).
        let deltaGenerator = DeltaGenerator(
            localRunner: CommandRunner(timeout: .seconds(config.deltaTimeoutSecs), watchdog: watchdog),
            localCapacity: config.localDeltaThreads, timeout: .seconds(config.deltaTimeoutSecs), logger: logger)
        let jobEnvironment = JobEnvironment(
            store: store, config: config, runner: runner, deltaGenerator: deltaGenerator, exportedKeys: keys,
            logger: logger, serverEnvironment: serverEnvironment)
        let metrics = ServerMetrics()
        let dispatcher = JobDispatcher(
            environment: jobEnvironment, owner: JobDispatcher.processOwner(), leaseSeconds: leaseSeconds,
            metrics: metrics)
        let sampler = MetricsSampler(
            store: store, config: config, metrics: metrics, interval: metricsInterval, logger: logger)
        guard
            var composition = Composition(
                config: config, store: store, queue: dispatcher, metrics: metrics, deltaGenerator: deltaGenerator,
                logger: logger, accessLevel: accessLevel)
        else {
            throw ExitCode.failure
        }
        // The fast path writes its access-log lines whole in the text format; the JSON one goes through swift-log.
        if textLog, composition.accessLogger.handler.metadata.isEmpty {
            composition.fastAccessLog = TextAccessLog(label: composition.accessLogger.label, sink: .standardError)
        }
        if OpenAPIDocument.contents == nil {
            logger.warning(
                "GET /openapi.yaml will answer 404: the document is not installed next to the server",
                metadata: ["searched": "\(OpenAPIDocument.candidatePaths().joined(separator: ", "))"])
        }
        let app = composition.application(threads: httpThreads) { channel in
            logger.info("Listening on \(channel.localAddress?.description ?? "?")")
        }
        let group = Shutdown.serviceGroup(
            config: config, store: store, sampler: sampler, cleanup: composition.buildCleanup, dispatcher: dispatcher,
            deltaGenerator: deltaGenerator, app: app, logger: logger, retention: composition.retentionScheduler,
            webhooks: composition.webhookSender(owner: dispatcher.owner))
        try await group.run()
    }

    /// Base64 of the public keys of the configured signing keys, for flatpakref files (server.md §1.6, fixed to use
    /// each repo's own key). An unusable key stops the start-up, naming it.
    static func exportKeys(config: Config, runner: CommandRunner, logger: Logger) async throws -> ExportedKeys {
        func export(_ keys: [String], key: String) async throws -> String? {
            guard !keys.isEmpty else { return nil }
            let command = Command.gpgExport(binary: config.gpgBinary, homedir: config.gpgHomedir, keys: keys)
            let output: CommandOutput
            do {
                output = try await runner.run(command)
            } catch {
                logger.critical("Cannot export GPG key \(keys.joined(separator: " ")) (config key '\(key)'): \(error)")
                throw ExitCode.failure
            }
            // gpg exits 0 with empty output for an unknown key id.
            let base64 = Data(output.stdoutBytes).base64EncodedString()
            if base64.isEmpty {
                logger.critical("GPG key \(keys.joined(separator: " ")) (config key '\(key)') is not in the keyring")
                throw ExitCode.failure
            }
            return base64
        }
        var exported = ExportedKeys(buildKey: try await export(config.buildGPGKeys, key: "build-gpg-key"))
        for (name, repo) in config.repos {
            exported.repoKeys[name] = try await export(repo.gpgKeys, key: "repos.\(name).gpg-key")
        }
        return exported
    }
}
