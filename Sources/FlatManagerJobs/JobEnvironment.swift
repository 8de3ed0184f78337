import FlatManagerCore
import FlatManagerStore
import Logging
import OSTree
import SystemPackage

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
    public internal(set) var logger: Logger
    /// What hooks inherit: the server's environment as `main` read it, narrowed by `hook-environment`.
    public let hookEnvironment: [String: String]

    /// `serverEnvironment` is the process environment (`main` passes it; code below never reads it itself).
    public init(
        store: Store, config: Config, runner: any CommandRunning, deltaGenerator: DeltaGenerator,
        exportedKeys: ExportedKeys, logger: Logger, serverEnvironment: [String: String] = [:]
    ) {
        self.store = store
        self.config = config
        self.runner = runner
        self.deltaGenerator = deltaGenerator
        self.exportedKeys = exportedKeys
        self.logger = logger
        self.hookEnvironment = Hook.inherited(from: serverEnvironment, allowList: config.hookEnvironment)
    }

    /// An environment whose delta queue generates locally with `deltaRunner` (the config's capacity and timeout).
    public init(
        store: Store, config: Config, runner: any CommandRunning, deltaRunner: any CommandRunning,
        exportedKeys: ExportedKeys, logger: Logger, serverEnvironment: [String: String] = [:]
    ) {
        let generator = DeltaGenerator(
            localRunner: deltaRunner, localCapacity: config.localDeltaThreads,
            timeout: .seconds(config.deltaTimeoutSecs), logger: logger)
        self.init(
            store: store, config: config, runner: runner, deltaGenerator: generator, exportedKeys: exportedKeys,
            logger: logger, serverEnvironment: serverEnvironment)
    }

    /// The build area; every build directory path comes from it.
    public var storage: BuildStorage { BuildStorage(base: config.buildRepoBase) }

    /// The build's directory (`storage.directory`), the working directory of its hooks.
    public func buildDirectory(_ buildID: Int32) -> FilePath { storage.directory(buildID) }

    /// Signing arguments for build repos.
    public var buildSigning: GPGSigning { GPGSigning(homedir: config.gpgHomedir, keys: config.buildGPGKeys) }

    public func signing(for repo: RepoConfig) -> GPGSigning {
        GPGSigning(homedir: config.gpgHomedir, keys: repo.gpgKeys)
    }

    public func repoConfig(_ name: String) throws(JobError) -> RepoConfig {
        guard let repo = config.repos[name] else { throw .missingRepo(name) }
        return repo
    }
}
