import ArgumentParser
import Foundation
import Logging

/// `delta-generator-client`: a remote static-delta worker for the 0.4.2 protocol (api.md §4.19–4.20,
/// server.md §5.6). Configured by the environment only, like upstream: `REPO_TOKEN` (required, a token with
/// sub `delta` and scope `generate`), `MANAGER_URL` (default `http://127.0.0.1:8080`), `CDN_URL` (pull from
/// there instead of the URL the server sends), `CAPACITY` (default: number of CPUs), `WORKDIR` (default: the
/// current directory; the worker's own ostree repo lives in `WORKDIR/repo`), and ours, `PRUNE_INTERVAL_SECS` (how
/// often that repo is pruned; default 86400, upstream's daily prune).
@main
struct DeltaGeneratorClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delta-generator-client", abstract: "Generate static deltas for a flat-manager server.")

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: environment["RUST_LOG"] ?? "info") ?? .info
            return handler
        }
        let logger = Logger(label: "delta-generator-client")
        let settings: WorkerSettings
        do {
            settings = try WorkerSettings(environment: environment)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        let worker = DeltaWorker(settings: settings, logger: logger)
        try await worker.prepareRepository()
        try await worker.runForever()
    }
}

/// The worker's settings, read from the environment.
struct WorkerSettings: Sendable {
    var token: String
    var managerURL: String
    var cdnURL: String?
    var capacity: UInt32
    var workDirectory: String
    var pruneIntervalSecs: Int

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    init(environment: [String: String]) throws {
        guard let token = environment["REPO_TOKEN"], !token.isEmpty else {
            throw Missing(description: "No token specified: set REPO_TOKEN")
        }
        self.token = token
        var manager = environment["MANAGER_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        while manager.hasSuffix("/") { manager.removeLast() }
        managerURL = manager
        cdnURL = environment["CDN_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let cpus = UInt32(ProcessInfo.processInfo.activeProcessorCount)
        capacity = environment["CAPACITY"].flatMap { UInt32($0) }.map { max(1, $0) } ?? cpus
        let cwd = FileManager.default.currentDirectoryPath
        let work = environment["WORKDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? cwd
        workDirectory = work.hasPrefix("/") ? work : cwd + "/" + work
        pruneIntervalSecs = try Self.pruneInterval(environment["PRUNE_INTERVAL_SECS"])
    }

    /// `PRUNE_INTERVAL_SECS`: absent means daily; otherwise whole seconds in 1...Int32.max (68 years), a clear
    /// start-up error else (`Task.sleep` traps on a duration like Int.max seconds).
    static func pruneInterval(_ text: String?) throws -> Int {
        guard let text, !text.isEmpty else { return 24 * 3600 }
        guard let seconds = Int(text), (1...Int(Int32.max)).contains(seconds) else {
            throw Missing(description: "PRUNE_INTERVAL_SECS must be a whole number of seconds in 1...\(Int32.max)")
        }
        return seconds
    }

    /// `ws://…/api/v1/delta/worker` (or `wss://` for https).
    var webSocketURL: String {
        let url =
            managerURL.hasPrefix("https://")
            ? "wss://" + managerURL.dropFirst("https://".count) : "ws://" + managerURL.dropFirst("http://".count)
        return url + "/api/v1/delta/worker"
    }
}
