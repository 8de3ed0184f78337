import FlatManagerMetrics
import Hummingbird
import Logging

/// The controllers of the HTTP API, each built by the composition root (the server's `Composition`) with only the
/// dependencies it uses.
public struct Controllers {
    public var builds: BuildController
    public var jobs: JobController
    public var tokens: TokenController
    public var repos: RepoController
    public var deltas: DeltaController
    public var files: FileController
    public var status: StatusController
    public var metrics: MetricsController
    /// `GET /status/webhooks` (ours); set by the composition root, nil leaves the route out.
    public var webhookStatus: WebhookStatusController?

    public init(
        builds: BuildController, jobs: JobController, tokens: TokenController, repos: RepoController,
        deltas: DeltaController, files: FileController, status: StatusController, metrics: MetricsController
    ) {
        self.builds = builds
        self.jobs = jobs
        self.tokens = tokens
        self.repos = repos
        self.deltas = deltas
        self.files = files
        self.status = status
        self.metrics = metrics
    }
}

/// The router: the middlewares in their order (Hummingbird binds them at registration, so they come first), then
/// every controller's routes, then the 405 answer for known paths asked with another method.
public func makeRouter(
    _ controllers: Controllers, tokens: TokenMiddleware, metrics: ServerMetrics, logger: Logger,
    accessLogger: Logger? = nil
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: AccessLogMiddleware(logger: accessLogger ?? logger, metrics: metrics))
    router.add(middleware: ErrorMiddleware(logger: logger))
    router.add(middleware: tokens)
    let api = router.group("api/v1")
    controllers.builds.addRoutes(to: api)
    controllers.jobs.addRoutes(to: api)
    controllers.tokens.addRoutes(to: api)
    controllers.repos.addRoutes(to: api)
    controllers.deltas.addRoutes(to: api)
    controllers.files.addRoutes(to: router)
    controllers.webhookStatus?.addRoutes(to: router)
    controllers.status.addRoutes(to: router)
    controllers.metrics.addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    // Added last, so that it wraps only the not-found answer (Hummingbird binds middlewares at registration).
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
    return router
}
