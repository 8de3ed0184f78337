import Dispatch
import FlatManagerCore
import Logging
import OSTree
import ServiceLifecycle
import SystemPackage

/// Reads the main repositories' object directories once at start-up (`ObjectLookup.warm`), in the background, so
/// that the first large `missing_objects` after a restart answers from kept listings instead of reading them itself.
/// Ends the reading at a shutdown, then waits for it like the other services.
public struct ObjectListingWarmup: Service {
    let config: Config
    let logger: Logger

    public init(config: Config, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        var repos = config.repos.sorted { $0.key < $1.key }.map { ($0.key, $0.value.path) }
        // A repository written to just before the start (or during it) has directories that are not kept yet:
        // those are tried again a little later, a few times.
        for _ in 0..<10 where !repos.isEmpty {
            repos = await warm(repos)
            guard !repos.isEmpty else { break }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1.5)) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { break }
        }
        try? await gracefulShutdown()
    }

    /// Warms `repos` on a background queue; answers those with directories left to try again.
    private func warm(_ repos: [(String, FilePath)]) async -> [(String, FilePath)] {
        let stop = StopFlag()
        return await cancelWhenGracefulShutdown {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<[(String, FilePath)], Never>) in
                    DispatchQueue.global(qos: .background).async {
                        var again: [(String, FilePath)] = []
                        for (name, path) in repos where !stop.isRaised() {
                            let warmth = ObjectLookup.warm(objects: path.appending("objects"), stop: stop.isRaised)
                            logger.debug(
                                "Read the object directories of repo \(name): \(warmth.kept) names kept, \(warmth.unsettled) directories changed too recently"
                            )
                            if warmth.unsettled > 0 { again.append((name, path)) }
                        }
                        continuation.resume(returning: again)
                    }
                }
            } onCancel: {
                stop.raise()
            }
        }
    }
}
