import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// How the server stops (server.md §3.7, with bounds of ours).
///
/// SIGTERM stops HTTP gracefully: the listener closes, in-flight requests may finish for `shutdown-timeout-secs`,
/// then the connections still open are closed. SIGINT and SIGQUIT close them at once. Either way the job
/// dispatcher then stops claiming and waits for the running jobs, at most `job-shutdown-timeout-secs`; a job still
/// running after that is left as it is (Started, with this process's lease) and the process exits with status 1,
/// so that the next start resumes it as after a crash. The database closes last.
///
/// The services, in the order the group starts them (it stops them in reverse):
/// 1. the store, which only closes once everything else has stopped;
/// 2. the metrics sampler, the build-area cleanup sweep (`BuildCleanup`) and the start-up reading of the object
///    directories (`ObjectListingWarmup`);
/// 3. the job dispatcher with its deadline (`BoundedJobs`);
/// 4. `DeltaGeneratorStopper`: once HTTP is down, queued deltas fail and local generations are killed, so that
///    update-repo jobs do not wait for deltas during the shutdown (upstream's wart: such a job may never finish);
/// 5. an inner group with the HTTP application: its `maximumGracefulShutdownDuration` is the request bound, and
///    SIGINT/SIGQUIT are its cancellation signals, which is what closes the connections. The outer group treats
///    all three signals as graceful, so that the jobs are always waited for.
enum Shutdown {
    /// Stop accepting, let in-flight requests finish within the bound.
    static let gracefulSignals: [UnixSignal] = [.sigterm]
    /// Close the HTTP connections at once (also in the middle of a graceful stop); jobs are still waited for.
    static let immediateSignals: [UnixSignal] = [.sigint, .sigquit]

    /// The server's services, bounded as described above; `app` is the HTTP application.
    static func serviceGroup(
        config: Config, store: Store, sampler: MetricsSampler, cleanup: BuildCleanup, dispatcher: JobDispatcher,
        deltaGenerator: DeltaGenerator, app: any Service, logger: Logger, retention: RetentionScheduler,
        webhooks: (any Service)? = nil
    ) -> ServiceGroup {
        var http = ServiceGroupConfiguration(
            services: [.init(service: HTTPService(app: app, boundSeconds: config.shutdownTimeoutSecs, logger: logger))],
            cancellationSignals: immediateSignals, logger: logger)
        http.maximumGracefulShutdownDuration = .seconds(config.shutdownTimeoutSecs)
        let jobs = BoundedJobs(
            dispatcher: dispatcher, store: store, boundSeconds: config.jobShutdownTimeoutSecs, logger: logger)
        return ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: StoreService(store: store)), .init(service: sampler), .init(service: cleanup),
                    .init(service: ObjectListingWarmup(config: config, logger: logger)),
                    // Webhook deliveries stop after the jobs, so that the last jobs' events still go out.
                    .init(service: webhooks ?? IdleService()),
                    .init(service: jobs),
                    .init(service: retention),
                    .init(service: DeltaGeneratorStopper(generator: deltaGenerator)),
                    // HTTP ending by itself (an immediate stop, or a failure such as a port in use) still lets the
                    // running jobs finish and closes the database.
                    .init(
                        service: ServiceGroup(configuration: http),
                        successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: gracefulSignals + immediateSignals,
                logger: logger))
    }
}

/// The HTTP application, logging how it stops; an error it throws because it was cancelled (the request bound ran
/// out, or SIGINT) is the expected end, not a failure.
struct HTTPService: Service {
    let app: any Service
    let boundSeconds: Int
    let logger: Logger

    func run() async throws {
        do {
            try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await app.run()
                } onGracefulShutdown: {
                    logger.info("Stopping: no new connections; in-flight requests get up to \(boundSeconds) s")
                }
            } onCancel: {
                logger.info("Stopping: closing the HTTP connections still open")
            }
        } catch {
            guard Task.isCancelled else { throw error }
            logger.debug("HTTP stopped by cancellation: \(String(reflecting: error))")
        }
    }
}

/// The job dispatcher with a bound on how long a shutdown waits for its running jobs.
///
/// Cancelling the dispatcher would kill the jobs' child processes and record the jobs as failed by us, so at the
/// bound the process exits instead, leaving each job Started with its lease: the next start's recovery resumes
/// it (or, past `job-max-resumes`, breaks it and fails its build; `Store.recoverInterruptedJobs`).
/// systemd (control group) and Docker (the container) end the children left behind.
struct BoundedJobs: Service {
    let dispatcher: JobDispatcher
    let store: Store
    let boundSeconds: Int
    let logger: Logger

    func run() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await dispatcher.run()
                return true
            }
            group.addTask {
                await exitAtDeadline()
                return false
            }
            // Only the dispatcher's end ends this service; the deadline task returns early only when cancelled.
            while let dispatcherFinished = try await group.next(), !dispatcherFinished {}
            group.cancelAll()
        }
    }

    /// Waits for the graceful shutdown, then for the bound; exits the process if a job is still running by then.
    /// Returns when cancelled (the dispatcher finished in time) or when no job is running.
    private func exitAtDeadline() async {
        do {
            try await gracefulShutdown()
            logger.info("Stopping: no new jobs; running jobs get up to \(boundSeconds) s")
            try await Task.sleep(for: .seconds(boundSeconds))
        } catch {
            return
        }
        let running = (try? await store.activeJobs().filter { $0.status == .started }.map { "#\($0.id)" }) ?? []
        // Nothing Started (a bound of 0, or the last job ending just now): the dispatcher is about to return.
        guard !running.isEmpty else { return }
        logger.error(
            """
            Running jobs \(running.joined(separator: ", ")) did not finish within job-shutdown-timeout-secs \
            (\(boundSeconds) s): exiting without them; the next start resumes them
            """)
        // Not exit(): other threads are still running and must not see the process's static state torn down.
        fflush(nil)
        _exit(1)
    }
}

/// Stops the delta generator once HTTP has stopped and before the running jobs are waited for (server.md §3.7), so
/// that an update-repo job waiting for deltas finishes without them instead of holding up the shutdown.
struct DeltaGeneratorStopper: Service {
    let generator: DeltaGenerator

    func run() async throws {
        try? await gracefulShutdown()
        await generator.stop()
    }
}

/// Stands in for an optional service that is not configured (webhooks): waits for the shutdown.
struct IdleService: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}

/// Keeps the database open until every other service has stopped, then closes it.
struct StoreService: Service {
    let store: Store

    func run() async throws {
        try? await gracefulShutdown()
        try await store.close()
    }
}
