import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("ObjectVerifier", .enabled(if: TestEnvironment.hasOSTree))
struct ObjectVerifierTests {
    /// Every object file of the repo with its parsed name.
    static func objects(in repo: String) throws -> [(name: ObjectName, path: String)] {
        var result: [(ObjectName, String)] = []
        let root = repo + "/objects"
        for prefix in try FileManager.default.contentsOfDirectory(atPath: root) {
            for rest in try FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix) {
                if let name = ObjectName(prefix + rest) { result.append((name, root + "/" + prefix + "/" + rest)) }
            }
        }
        return result
    }

    /// Feeds `bytes` in random chunk sizes (sometimes empty, sometimes one byte, sometimes large).
    static func verify(_ name: ObjectName, _ bytes: [UInt8]) throws {
        var verifier = ObjectVerifier(name)
        var position = 0
        while position < bytes.count {
            let size = [0, 1, 7, 100, 4096, 65_537, 1_000_000].randomElement() ?? 1
            let end = min(bytes.count, position + size)
            try bytes[position..<end].withUnsafeBytes { try verifier.update($0) }
            position = end
        }
        try verifier.finish()
    }

    @Test func acceptsEveryObjectOstreeWrote() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let objects = try Self.objects(in: repo)
            #expect(Set(objects.map(\.name.type)) == Set(ObjectType.allCases))

            for object in objects {
                let bytes = try OSTreeFixtures.readBytes(object.path)
                #expect(throws: Never.self, "\(object.name)") { try Self.verify(object.name, bytes) }
            }
        }
    }

    @Test func acceptsTheFileWithAnExtendedAttribute() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commit) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let listing = try await OSTreeFixtures.run(
                "ostree", "--repo=\(repo)", "ls", "-X", "-C", commit, "/random.bin")
            try #require(listing.contains("user.flatmanager"), "the file system did not keep the xattr")
            let checksum = try #require(listing.split(separator: " ").first { $0.count == 64 })
            let name = ObjectName(checksum: String(checksum), type: .filez)

            let bytes = try OSTreeFixtures.readBytes(repo + "/" + name.relativePath.string)

            #expect(throws: Never.self) { try Self.verify(name, bytes) }
        }
    }

    @Test func rejectsAFlippedByteAnywhere() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _) = try await OSTreeFixtures.makeContentRepo(in: directory)
            for object in try Self.objects(in: repo) {
                let bytes = try OSTreeFixtures.readBytes(object.path)
                for index in [0, bytes.count / 2, bytes.count - 1]
                    + (0..<3).map({ _ in Int.random(in: 0..<bytes.count) })
                {
                    var corrupted = bytes
                    corrupted[index] ^= 0x01
                    #expect(throws: ObjectVerificationError.self, "\(object.name) byte \(index)") {
                        try Self.verify(object.name, corrupted)
                    }
                }
            }
        }
    }

    @Test func rejectsTruncatedAndExtendedFiles() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _) = try await OSTreeFixtures.makeContentRepo(in: directory)
            for object in try Self.objects(in: repo) where object.name.type == .filez {
                let bytes = try OSTreeFixtures.readBytes(object.path)
                #expect(throws: ObjectVerificationError.self) { try Self.verify(object.name, Array(bytes.dropLast())) }
                #expect(throws: ObjectVerificationError.self) { try Self.verify(object.name, bytes + [0]) }
            }
        }
    }

    @Test func rejectsAnObjectUnderAnotherObjectsName() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let objects = try Self.objects(in: repo)
            let files = objects.filter { $0.name.type == .filez }
            let first = try #require(files.first)
            let second = try #require(files.last)
            try #require(first.name != second.name)

            let error = #expect(throws: ObjectVerificationError.self) {
                try Self.verify(first.name, try OSTreeFixtures.readBytes(second.path))
            }
            #expect(error != nil)
        }
    }

    @Test func rejectsGarbageWithoutCrashing() throws {
        let name = ObjectName(checksum: String(repeating: "ab", count: 32), type: .filez)
        for length in [0, 4, 8, 12, 40, 1000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255) }
            #expect(throws: ObjectVerificationError.self) { try Self.verify(name, bytes) }
        }
        #expect(throws: ObjectVerificationError.self) { try Self.verify(name, [0, 0, 0, 0x1a, 0, 0, 0, 0]) }
        #expect(throws: ObjectVerificationError.self) { try Self.verify(name, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]) }
    }
}
