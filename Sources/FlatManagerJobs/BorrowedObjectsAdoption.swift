import Dispatch
import FlatManagerCore
import Foundation
import OSTree
import SystemPackage

/// The jobs' side of `BorrowedObjects`: the prune adopts the records of every build in flight before it removes
/// anything, the commit adopts its build's before ostree reads the build. Linking is a system call per object (about
/// 10 µs): done on a Dispatch thread, never on the cooperative pool.
enum BorrowedObjectsAdoption {
    /// Links the objects every build of `repo` recorded into the build, then empties the records. The caller holds
    /// the repository's `AdoptionLock` exclusively.
    static func adoptAll(repo: RepoConfig, in context: JobContext) async throws(JobError) {
        let storage = context.environment.storage
        let path = repo.path
        let result = await offPool { Result { try BorrowedObjects.adoptAll(storage: storage, repository: path) } }
        let adoptions: [Int32: BorrowedObjects.Adoption]
        switch result {
        case .success(let value): adoptions = value
        case .failure(let error):
            throw .io("Cannot link the objects builds rely on into them", reason: "\(error)")
        }
        for (buildID, adoption) in adoptions.sorted(by: { $0.key < $1.key }) {
            await log(adoption, of: buildID, in: context)
        }
    }

    /// Links the objects build `buildID` recorded into it (the record stays until a prune empties it).
    static func adopt(buildID: Int32, in context: JobContext) async throws(JobError) {
        let storage = context.environment.storage
        let result = await offPool {
            Result { try BorrowedObjects.adopt(storage: storage, buildID: buildID, clear: false) }
        }
        switch result {
        case .success(let adoption): await log(adoption, of: buildID, in: context)
        case .failure(let error):
            throw .io("Cannot link the objects build \(buildID) relies on into it", reason: "\(error)")
        }
    }

    private static func log(_ adoption: BorrowedObjects.Adoption, of buildID: Int32, in context: JobContext) async {
        guard adoption.recorded > 0 else { return }
        await context.log(
            "Build \(buildID): linked \(adoption.linked) objects of the main repository into the build "
                + "(\(adoption.present) there already)")
        if !adoption.lost.isEmpty {
            let some = adoption.lost.prefix(5).map(\.fileName).joined(separator: ", ")
            await context.log(
                "Build \(buildID): \(adoption.lost.count) objects it relies on are gone from the main repository: \(some)"
            )
        }
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
