import FlatManagerCore
import SQLKit

extension Store {
    /// Builds of `repo` whose objects may still come from the main repository: a build repository has the main
    /// repository as its ostree `parent`, so objects the client did not upload (because the main repository had
    /// them) are read from there at commit and at publish. That holds from creation until the build is published
    /// (or fails, or is purged). In id order.
    public func buildsRelyingOnRepo(_ repo: String) async throws -> [Int32] {
        let unfinished = [RepoState.uploading, .committing, .validating, .ready].map(\.rawValue)
        let unpublished = [PublishedState.unpublished, .publishing].map(\.rawValue)
        return try await withDatabase { db in
            let rows = try await db.raw(
                """
                SELECT id FROM builds
                WHERE repo = \(bind: repo) AND repo_state IN (\(binds: unfinished))
                AND published_state IN (\(binds: unpublished))
                ORDER BY id
                """
            ).all()
            return try rows.map { try $0.int32("id") }
        }
    }
}
