import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Hummingbird
import Logging

/// Everything the HTTP layer needs, built once by the server and handed to every controller.
public struct APIServices: Sendable {
    public let config: Config
    public let store: Store
    public let dispatcher: JobDispatcher
    public let logger: Logger
    let mainSigner: TokenSigner
    let repoSigner: TokenSigner
    /// Bytes stored per build, for `max-build-bytes`; one for the whole process.
    let uploadTally = UploadTally()

    /// Fails when a configured secret is not valid base64 (config validation already refuses that).
    public init?(config: Config, store: Store, dispatcher: JobDispatcher, logger: Logger) {
        guard let main = TokenSigner(base64Secret: config.secret),
            let repo = TokenSigner(base64Secret: config.effectiveRepoSecret)
        else { return nil }
        self.config = config
        self.store = store
        self.dispatcher = dispatcher
        self.logger = logger
        self.mainSigner = main
        self.repoSigner = repo
    }

    /// What the server counts for `/metrics`, shared with the jobs.
    var metrics: ServerMetrics { dispatcher.metrics }

    /// `Location`/host fallback when a request names no host.
    var fallbackHost: String { "\(config.host):\(config.port)" }
}

/// Builds the router with every route and middleware (middlewares first: Hummingbird binds them at registration).
public func makeRouter(services: APIServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: AccessLogMiddleware(logger: services.logger, metrics: services.metrics))
    router.add(middleware: ErrorMiddleware(logger: services.logger))
    router.add(
        middleware: TokenMiddleware(
            mainSigner: services.mainSigner, repoSigner: services.repoSigner, tokenPrefix: services.config.tokenPrefix,
            store: services.store, statusRequiresToken: services.config.statusRequiresToken))
    BuildController(services: services).addRoutes(to: router.group("api/v1"))
    JobController(services: services).addRoutes(to: router.group("api/v1"))
    TokenController(services: services).addRoutes(to: router.group("api/v1"))
    RepoController(services: services).addRoutes(to: router.group("api/v1"))
    DeltaController(services: services).addRoutes(to: router.group("api/v1"))
    FileController(services: services).addRoutes(to: router)
    StatusController(services: services).addRoutes(to: router)
    MetricsController(metrics: services.metrics).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    // Added last, so that it wraps only the not-found answer (Hummingbird binds middlewares at registration).
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
    return router
}
