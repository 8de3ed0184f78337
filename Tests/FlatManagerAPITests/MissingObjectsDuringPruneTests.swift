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

/// missing_objects never lets a prune break a build (issues #12, #13): an object found only in the main repository
/// is recorded in the build (`BorrowedObjects`), and a prune links every recorded object into its build before it
/// removes anything; while a prune holds the repository's `AdoptionLock`, missing_objects links such objects at once.
@Suite("missing_objects and prune")
struct MissingObjectsDuringPruneTests {
    /// A harness with one build of `stable`, its storage and the main repository's path.
    struct Setup {
        let harness: APIHarness
        let buildID: Int32
        let storage: BuildStorage
        let mainRepo: String

        static func make() async throws -> Setup {
            let harness = try await APIHarness.make()
            let build = try await harness.store.createBuild(
                repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
                tokenBranches: nil)
            let storage = BuildStorage(base: harness.config.buildRepoBase)
            let mainRepo = harness.config.repos["stable"]?.path.string ?? ""
            try storage.create(build.id, parent: FilePath(mainRepo), collectionID: nil)
            return Setup(harness: harness, buildID: build.id, storage: storage, mainRepo: mainRepo)
        }

        /// Writes an object file at `repo`'s `objects/xx/rest.type`.
        func put(_ name: ObjectName, in repo: String) throws {
            let path = repo + "/" + name.relativePath.string
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data(name.checksum.utf8))
        }

        /// The `missing` list of one missing_objects call.
        func missing(_ wanted: [String]) async throws -> [String] {
            let token = harness.token()
            let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["wanted": wanted]))
            return try await harness.test { client in
                let response = try await client.execute(
                    uri: "/api/v1/build/\(buildID)/missing_objects", method: .get, headers: .bearer(token), body: body)
                return try response.decode(MissingObjectsResponse.self).missing
            }
        }
    }

    @Test("an object of the main repo counts as present, is recorded, and the build keeps it once a prune adopted it")
    func mainRepoObjectsAreRecordedAndAdopted() async throws {
        // Arrange
        let setup = try await Setup.make()
        defer { Task { await setup.harness.close() } }
        let name = try #require(ObjectName(String(repeating: "c", count: 64) + ".filez"))
        try setup.put(name, in: setup.mainRepo)
        let absent = String(repeating: "d", count: 64) + ".filez"
        let mainCopy = setup.mainRepo + "/" + name.relativePath.string
        let own = setup.storage.ownObjectPath(setup.buildID, name).string

        // Act
        let missing = try await setup.missing([name.fileName, absent])
        let recorded = try BorrowedObjects.recorded(storage: setup.storage, buildID: setup.buildID)
        let linkedByTheAnswer = FileManager.default.fileExists(atPath: own)
        // What the prune job does before it removes anything, then what it removes.
        let adoptions = try BorrowedObjects.adoptAll(storage: setup.storage, repository: FilePath(setup.mainRepo))
        let sameFile = try Self.inode(own) == Self.inode(mainCopy)
        try FileManager.default.removeItem(atPath: mainCopy)
        let missingAfterPrune = try await setup.missing([name.fileName])

        // Assert
        #expect(missing == [absent])
        #expect(recorded == [name])
        #expect(!linkedByTheAnswer, "the answer itself links nothing")
        #expect(adoptions[setup.buildID]?.linked == 1)
        #expect(sameFile, "the build holds a hard link to the main repository's object")
        #expect(try BorrowedObjects.recorded(storage: setup.storage, buildID: setup.buildID).isEmpty)
        #expect(missingAfterPrune.isEmpty, "still present for the build after the removal")
    }

    @Test("while a prune holds the adoption lock, an object of the main repo is linked into the build at once")
    func linksWhilePruneHoldsTheLock() async throws {
        // Arrange
        let setup = try await Setup.make()
        defer { Task { await setup.harness.close() } }
        let name = try #require(ObjectName(String(repeating: "e", count: 64) + ".dirtree"))
        try setup.put(name, in: setup.mainRepo)
        let lock = try await AdoptionLock.exclusive(repository: FilePath(setup.mainRepo))

        // Act
        let missing = try await setup.missing([name.fileName])
        lock.release()
        let own = setup.storage.ownObjectPath(setup.buildID, name).string

        // Assert
        #expect(missing.isEmpty)
        #expect(try Self.inode(own) == Self.inode(setup.mainRepo + "/" + name.relativePath.string), "linked")
        #expect(try BorrowedObjects.recorded(storage: setup.storage, buildID: setup.buildID).isEmpty)
    }

    @Test(
        "the answer is every name in neither repository, in request order with repeats, for a request split in two",
        arguments: [false, true])
    func answerKeepsRequestOrder(pruneHoldsTheLock: Bool) async throws {
        // Arrange: 12,000 names (two pieces from 8,192 on) spread over uploaded, the build's own, the main
        // repository's and nowhere, with repeats.
        let setup = try await Setup.make()
        defer { Task { await setup.harness.close() } }
        let upload = setup.storage.uploadDirectory(setup.buildID).string
        let buildRepo = setup.storage.directory(setup.buildID).string
        var wanted: [String] = []
        var expected: [String] = []
        for index in 0..<12_000 {
            let type = ObjectType.allCases[index % 4]
            let spread = String(format: "%08lx", ((index % 11_000) &* 2_654_435_761) & 0xffff_ffff)
            let name = ObjectName(checksum: spread + String(repeating: "7", count: 56), type: type)
            wanted.append(name.fileName)
            guard index < 11_000 else {
                if expected.contains(name.fileName) { expected.append(name.fileName) }
                continue
            }
            switch index % 5 {
            case 0: try setup.put(name, in: upload)
            case 1: try setup.put(name, in: buildRepo)
            case 2, 3: try setup.put(name, in: setup.mainRepo)
            default: expected.append(name.fileName)
            }
        }
        let lock = pruneHoldsTheLock ? try await AdoptionLock.exclusive(repository: FilePath(setup.mainRepo)) : nil

        // Act
        let missing = try await setup.missing(wanted)
        lock?.release()

        // Assert
        #expect(missing.count == expected.count)
        #expect(missing == expected)
    }

    static func inode(_ path: String) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
    }
}
