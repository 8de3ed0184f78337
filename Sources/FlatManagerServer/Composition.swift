import FlatManagerAPI
import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import OSTree

/// The composition root: the parts that live as long as the server are built once, here, and each HTTP controller
/// gets only the typed dependencies it uses (in the spirit of Hummingbird's `buildApplication`). Nothing below
/// `main` builds a long-lived part of its own.
struct Composition {
    let config: Config
    let store: Store
    /// Where the API hands new jobs (the dispatcher).
    let queue: any JobQueue
    let metrics: ServerMetrics
    let deltaGenerator: DeltaGenerator
    let logger: Logger
    /// The access log's logger: the server's, at the access log's own level (`LogLevels`).
    let accessLogger: Logger
    /// Writes the fast path's access-log lines whole (`TextAccessLog`), when the log format allows.
    var fastAccessLog: (any FastAccessLog)?
    /// Verifies API tokens and signs subset tokens (`secret`).
    let mainSigner: TokenSigner
    /// Verifies download tokens on `/repo` (`repo-secret`, else `secret`).
    let repoSigner: TokenSigner
    /// Bytes stored per build for `max-build-bytes`, shared by every upload request.
    let uploadTally = UploadTally()

    /// Nil when a configured secret is not valid base64 (config validation already refuses that).
    init?(
        config: Config, store: Store, queue: any JobQueue, metrics: ServerMetrics, deltaGenerator: DeltaGenerator,
        logger: Logger, accessLevel: Logger.Level? = nil
    ) {
        guard var main = TokenSigner(base64Secret: config.secret),
            var repo = TokenSigner(base64Secret: config.effectiveRepoSecret)
        else { return nil }
        main.publicKeys = config.tokenPublicKeys
        repo.publicKeys = config.tokenPublicKeys
        self.config = config
        self.store = store
        self.queue = queue
        self.metrics = metrics
        self.deltaGenerator = deltaGenerator
        self.logger = logger
        var accessLogger = logger
        if let accessLevel { accessLogger.logLevel = accessLevel }
        self.accessLogger = accessLogger
        self.mainSigner = main
        self.repoSigner = repo
    }

    /// The build area, shared with the jobs (they get it from their environment, built from the same config).
    var storage: BuildStorage { BuildStorage(base: config.buildRepoBase) }

    /// The sweep that removes failed and purged builds' directories after `failed-build-retention-hours`, every
    /// ten minutes (and once at start).
    var buildCleanup: BuildCleanup {
        BuildCleanup(
            store: store, storage: storage, retentionHours: config.failedBuildRetentionHours,
            interval: .seconds(600), logger: logger)
    }

    /// The webhook delivery service, when `webhooks` is configured (opt-in: without it nothing is sent).
    func webhookSender(owner: String) -> WebhookSender? {
        guard !config.webhooks.isEmpty else { return nil }
        return WebhookSender(
            store: store, webhooks: config.webhooks, policy: config.webhookDelivery, owner: owner, logger: logger,
            metrics: metrics)
    }

    /// The prunes of the repos with a `retention`, queued on their schedule (issue #15).
    var retentionScheduler: RetentionScheduler {
        RetentionScheduler(store: store, repos: config.repos, queue: queue, logger: logger)
    }

    /// The host of `Location` headers for requests that name none.
    var fallbackHost: String { "\(config.host):\(config.port)" }

    var tokens: TokenMiddleware {
        TokenMiddleware(
            mainSigner: mainSigner, repoSigner: repoSigner, tokenPrefix: config.tokenPrefix, store: store,
            statusRequiresToken: config.statusRequiresToken)
    }

    var controllers: Controllers {
        var controllers = Controllers(
            builds: BuildController(
                store: store, queue: queue, storage: storage, repos: config.repos, rules: BuildRules(config: config),
                metrics: metrics, uploadTally: uploadTally, logger: logger, fallbackHost: fallbackHost),
            jobs: JobController(store: store),
            tokens: TokenController(store: store, signer: mainSigner),
            repos: RepoController(repos: config.repos, store: store, queue: queue, fallbackHost: fallbackHost),
            deltas: DeltaController(repos: config.repos, logger: logger),
            files: FileController(repos: config.repos, store: store, storage: storage, logger: logger),
            status: StatusController(
                store: store, redactor: PathRedactor(config: config), requiresToken: config.statusRequiresToken,
                repos: config.repos),
            metrics: MetricsController(metrics: metrics))
        controllers.webhookStatus = WebhookStatusController(store: store, requiresToken: config.statusRequiresToken)
        return controllers
    }

    /// Every route and middleware, without a socket (what the router tests drive).
    var router: Router<AppRequestContext> {
        makeRouter(controllers, tokens: tokens, metrics: metrics, logger: logger, accessLogger: accessLogger)
    }

    /// The HTTP application on `threads` event-loop threads (`workers`, `ACTIX_WORKERS`): the router behind our HTTP/1
    /// channel with the delta-worker websocket upgrade, and the event-loop fast path for plain repository files in
    /// front of it (sharing the router's file roots and verified-token memo). The group lives as long as the process.
    func application(threads: Int, onServerRunning: @escaping @Sendable (any Channel) async -> Void)
        -> some ApplicationProtocol
    {
        let tokens = self.tokens
        let controllers = self.controllers
        let fastPath = RepoFastPath(
            files: controllers.files, tokens: tokens, accessLogger: accessLogger, fastLog: fastAccessLog,
            metrics: metrics)
        return Application(
            router: makeRouter(
                controllers, tokens: tokens, metrics: metrics, logger: logger, accessLogger: accessLogger),
            server: deltaWorkerServer(
                tokens: tokens, mainSigner: mainSigner, generator: deltaGenerator,
                timeouts: (config.httpHeaderTimeoutSecs, config.httpIdleTimeoutSecs), fastPath: fastPath),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "flat-manager"),
            onServerRunning: onServerRunning,
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: threads)),
            logger: logger)
    }
}
