import Dispatch
import FlatManagerCore
import FlatManagerStore
import Foundation
import Logging
import OSTree
import ServiceLifecycle
import SystemPackage

/// Removes the directories of failed and purged builds once `failed-build-retention-hours` have passed since a
/// sweep first saw them so (their database records stay). A failed build keeps its upload (tens of megabytes) until
/// someone purges it otherwise; a purge that failed halfway leaves the rest.
///
/// Runs every `interval` while the server runs; each round asks the store for the candidates (which records when
/// it first saw each) and removes the directories whose grace period is over, on a dispatch queue so that a large
/// tree does not block the cooperative pool. Several processes may sweep the same build area: removing a directory
/// already gone is not an error.
public struct BuildCleanup: Service {
    let store: Store
    let storage: BuildStorage
    let retentionSeconds: Int64
    let interval: Duration
    let logger: Logger

    public init(store: Store, storage: BuildStorage, retentionHours: Int, interval: Duration, logger: Logger) {
        self.init(
            store: store, storage: storage, retentionSeconds: Int64(retentionHours).saturatingMultiplied(by: 3600),
            interval: interval, logger: logger)
    }

    /// With the grace period in seconds (tests use a short one).
    public init(store: Store, storage: BuildStorage, retentionSeconds: Int64, interval: Duration, logger: Logger) {
        self.store = store
        self.storage = storage
        self.retentionSeconds = retentionSeconds
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await sweep(now: .now())
            } catch {
                logger.warning("Cannot sweep the build area: \(String(reflecting: error))")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: removes the directories whose grace period ended by `now`; returns the ids of the builds it
    /// removed (or found gone).
    public func sweep(now: Timestamp) async throws -> [Int32] {
        let base = storage.base.string
        let trashed = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: Trash.sweep(base)) }
        }
        if trashed > 0 { logger.info("Removed \(trashed) build directories left behind by their background removal") }
        var cleaned: [Int32] = []
        for candidate in try await store.cleanupCandidates(now: now) {
            guard candidate.seen.adding(seconds: retentionSeconds) <= now else { continue }
            let storage = storage
            let buildID = candidate.buildID
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    do {
                        try storage.removeIfPresent(buildID)
                        continuation.resume(returning: nil)
                    } catch {
                        continuation.resume(returning: error.localizedDescription)
                    }
                }
            }
            if let outcome {
                logger.warning("Cannot remove the directory of build \(buildID): \(outcome)")
                continue
            }
            try await store.markCleanedUp(buildID: buildID, at: now)
            logger.info("Removed the directory of build \(buildID) (failed or purged)")
            cleaned.append(buildID)
        }
        return cleaned
    }
}
