import CompressNIO
import FlatManagerAPI
import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OSTree
import SystemPackage
import Testing

/// missing_objects makes a build self-contained (issue #12): an object found only in the main repository is
/// hard-linked into the build repository, so a prune that removes it there, while a prune job runs or later, takes
/// nothing from the build.
@Suite("missing_objects and prune")
struct MissingObjectsDuringPruneTests {
    @Test("an object of the main repo counts as present, is linked into the build and survives its removal there")
    func mainRepoObjectsAreLinkedIntoTheBuild() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let storage = BuildStorage(base: harness.config.buildRepoBase)
        let mainRepo = harness.config.repos["stable"]?.path.string ?? ""
        try storage.create(build.id, parent: FilePath(mainRepo), collectionID: nil)
        let object = String(repeating: "c", count: 64) + ".filez"
        let name = try #require(ObjectName(object))
        let mainCopy = mainRepo + "/" + name.relativePath.string
        try FileManager.default.createDirectory(atPath: mainRepo + "/objects/cc", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: mainCopy, contents: Data("object".utf8))
        let absent = String(repeating: "d", count: 64) + ".filez"
        // A prune job of the repo is running meanwhile: it no longer changes the answer.
        _ = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
        _ = try await harness.store.claimNextJob(
            queue: .repo("stable"), owner: "test:1:1", leaseSeconds: 60, allowConcurrent: false)
        let token = harness.token()
        let body = ByteBuffer(string: #"{"wanted":["\#(object)","\#(absent)"]}"#)

        // Act
        let missing = try await harness.test { client in
            let response = try await client.execute(
                uri: "/api/v1/build/\(build.id)/missing_objects", method: .get, headers: .bearer(token), body: body)
            return try response.decode(MissingObjectsResponse.self).missing
        }
        let own = storage.ownObjectPath(build.id, name).string
        let sameFile = try Self.inode(own) == Self.inode(mainCopy)
        try FileManager.default.removeItem(atPath: mainCopy)  // what a prune does to an unreachable object

        // Assert
        #expect(missing == [absent])
        #expect(sameFile, "the build holds a hard link to the main repository's object")
        #expect(try String(contentsOfFile: own, encoding: .utf8) == "object")
        #expect(storage.adoptObject(build.id, name), "still present for the build after the removal")
    }

    static func inode(_ path: String) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
    }
}
