import FlatManagerCore
import Foundation
import OSTree
import SystemPackage

/// The commit a ref points at, or a job error when the ref is missing or unreadable.
func readRef(repo: FilePath, ref: String) throws(JobError) -> String {
    let commit: String?
    do {
        commit = try Refs.read(repo: repo, ref: ref)
    } catch {
        throw .io("Cannot read ref \(ref) in \(repo)", reason: "\(error)")
    }
    guard let commit else { throw .missingRef(ref: ref, repo: repo.string) }
    return commit
}

/// Checks out every appstream branch of `repo` (see `Appstream.checkouts`) as `ostree checkout --user-mode --union
/// --bareuseronly-dirs` would, in this process (`ArchiveCheckout`, issue #13).
func extractAppstream(repo: FilePath, in context: JobContext) async throws(JobError) {
    try FileManager.default.makeDirectory(repo.string + "/appstream")
    let checkouts: [(ref: String, destination: FilePath)]
    do {
        checkouts = try Appstream.checkouts(repo: repo)
    } catch {
        throw .io("Cannot list appstream refs of \(repo)", reason: "\(error)")
    }
    for checkout in checkouts {
        // The fencing `context.run` gives a tool: no write into a repository by a run that lost its job.
        try await context.ensureLease()
        do {
            try await ArchiveCheckout.checkout(repo: repo, ref: checkout.ref, into: checkout.destination)
        } catch {
            throw .io("Cannot check out \(checkout.ref) of \(repo) into \(checkout.destination)", reason: "\(error)")
        }
    }
}
