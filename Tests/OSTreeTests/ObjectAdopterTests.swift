import Foundation
import SystemPackage
import Testing

@testable import OSTree

/// `ObjectAdopter` (missing_objects' fast path) gives the same answer as `BuildStorage.adoptObject` for every
/// combination of where an object is, and links what the main repository has.
@Suite("ObjectAdopter")
struct ObjectAdopterTests {
    /// Where one test object is: in the main repository, uploaded, the build's own, and whether the build already
    /// has its `objects/xx` directory.
    struct Placement: CustomStringConvertible, Sendable {
        var inMain: Bool
        var uploaded: Bool
        var own: Bool
        var ownPrefixExists: Bool

        var description: String {
            "main \(inMain), uploaded \(uploaded), own \(own), prefix dir \(ownPrefixExists)"
        }

        static let all: [Placement] = (0..<16).map {
            Placement(inMain: $0 & 1 != 0, uploaded: $0 & 2 != 0, own: $0 & 4 != 0, ownPrefixExists: $0 & 8 != 0)
        }
    }

    /// A build area with build 1 whose `parent` links to a main repository, as `BuildStorage.create` lays it out.
    struct Layout {
        let root: String
        let storage: BuildStorage
        let main: String

        init() throws {
            root = NSTemporaryDirectory() + "adopter-" + UUID().uuidString
            main = root + "/main"
            storage = BuildStorage(base: FilePath(root + "/builds"))
            let files = FileManager.default
            try files.createDirectory(atPath: main + "/objects", withIntermediateDirectories: true)
            try files.createDirectory(
                atPath: storage.directory(1).string + "/objects", withIntermediateDirectories: true)
            try files.createDirectory(
                atPath: storage.uploadDirectory(1).string + "/objects", withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: storage.parentDirectory(1).string, withDestinationPath: main)
        }

        func place(_ name: ObjectName, _ placement: Placement) throws {
            let files = FileManager.default
            func write(_ path: String) throws {
                try files.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                #expect(files.createFile(atPath: path, contents: Data(name.checksum.utf8)))
            }
            if placement.inMain { try write(main + "/" + name.relativePath.string) }
            if placement.uploaded { try write(storage.uploadedObjectPath(1, name).string) }
            if placement.own {
                try write(storage.ownObjectPath(1, name).string)
            } else if placement.ownPrefixExists {
                try files.createDirectory(
                    atPath: (storage.ownObjectPath(1, name).string as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true)
            }
        }

        func inode(_ path: String) -> UInt64? {
            var info = stat()
            return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
        }
    }

    static func name(_ index: Int) -> ObjectName {
        // Distinct prefixes, so each placement's `objects/xx` directory is its own.
        let checksum = String(format: "%02x", index * 7 + 3) + String(repeating: String(index % 10), count: 62)
        return ObjectName(checksum: checksum, type: .filez)
    }

    @Test("answers as adoptObject does, and leaves the build holding a link to what the main repository has")
    func sameAnswersAsAdoptObject() throws {
        // Arrange: the same placements in two build areas, one asked through each path.
        let fast = try Layout()
        let slow = try Layout()
        defer {
            try? FileManager.default.removeItem(atPath: fast.root)
            try? FileManager.default.removeItem(atPath: slow.root)
        }
        for (index, placement) in Placement.all.enumerated() {
            try fast.place(Self.name(index), placement)
            try slow.place(Self.name(index), placement)
        }
        let absent = ObjectName(checksum: String(repeating: "f", count: 64), type: .dirtree)

        // Act
        var adopter = try ObjectAdopter(storage: fast.storage, buildID: 1)
        let fastAnswers = Placement.all.indices.map { adopter.adopt(Self.name($0)) }
        let slowAnswers = Placement.all.indices.map { slow.storage.adoptObject(1, Self.name($0)) }
        let absentAnswer = adopter.adopt(absent)

        // Assert
        for (index, placement) in Placement.all.enumerated() {
            let name = Self.name(index)
            #expect(fastAnswers[index] == slowAnswers[index], "\(placement)")
            #expect(fastAnswers[index] == (placement.inMain || placement.uploaded || placement.own), "\(placement)")
            if placement.inMain && !placement.own {
                #expect(
                    fast.inode(fast.storage.ownObjectPath(1, name).string)
                        == fast.inode(fast.main + "/" + name.relativePath.string),
                    "linked: \(placement)")
            }
        }
        #expect(absentAnswer == false)
        #expect(fast.inode(fast.storage.ownObjectPath(1, absent).string) == nil)
    }

    @Test("works after the commit removed the upload repository, and refuses a build without a repository")
    func withoutUploadRepository() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let inMain = Self.name(1)
        try layout.place(inMain, Placement(inMain: true, uploaded: false, own: false, ownPrefixExists: false))
        try FileManager.default.removeItem(atPath: layout.storage.uploadDirectory(1).string)

        // Act
        var adopter = try ObjectAdopter(storage: layout.storage, buildID: 1)
        let found = adopter.adopt(inMain)
        let notFound = adopter.adopt(Self.name(2))

        // Assert
        #expect(found)
        #expect(!notFound)
        #expect(throws: (any Error).self) { _ = try ObjectAdopter(storage: layout.storage, buildID: 2) }
    }

    @Test("a symbolic link in place of the build's objects directory is refused")
    func symlinkedObjectsDirectoryIsRefused() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let objects = layout.storage.directory(1).string + "/objects"
        try FileManager.default.removeItem(atPath: objects)
        try FileManager.default.createSymbolicLink(atPath: objects, withDestinationPath: layout.main + "/objects")

        // Act / Assert
        #expect(throws: (any Error).self) { _ = try ObjectAdopter(storage: layout.storage, buildID: 1) }
    }
}
