import Foundation
import SystemPackage
import Testing

@testable import OSTree

/// `ObjectLookup` answers where an object is without changing anything; `BorrowedObjects` records what a build
/// relies on the main repository for and links it into the build when asked; `AdoptionLock` keeps the two apart.
@Suite("Borrowed objects")
struct BorrowedObjectsTests {
    typealias Layout = ObjectAdopterTests.Layout
    typealias Placement = ObjectAdopterTests.Placement

    static func name(_ index: Int) -> ObjectName { ObjectAdopterTests.name(index) }

    @Test("the lookup answers as adoptObject does, says which objects only the main repo has, and links nothing")
    func lookupAgreesWithAdoptObject() throws {
        // Arrange
        let layout = try Layout()
        let reference = try Layout()
        defer {
            try? FileManager.default.removeItem(atPath: layout.root)
            try? FileManager.default.removeItem(atPath: reference.root)
        }
        for (index, placement) in Placement.all.enumerated() {
            try layout.place(Self.name(index), placement)
            try reference.place(Self.name(index), placement)
        }
        let absent = ObjectName(checksum: String(repeating: "f", count: 64), type: .dirtree)

        // Act
        var lookup = try ObjectLookup(storage: layout.storage, buildID: 1)
        let places = Placement.all.indices.map { lookup.place(of: Self.name($0)) }
        let answers = Placement.all.indices.map { reference.storage.adoptObject(1, Self.name($0)) }

        // Assert
        for (index, placement) in Placement.all.enumerated() {
            let name = Self.name(index)
            #expect((places[index] != .nowhere) == answers[index], "\(placement)")
            let expected: ObjectPlace =
                placement.uploaded || placement.own ? .build : placement.inMain ? .main : .nowhere
            #expect(places[index] == expected, "\(placement)")
            if !placement.own {
                #expect(layout.inode(layout.storage.ownObjectPath(1, name).string) == nil, "not linked: \(placement)")
            }
        }
        #expect(lookup.place(of: absent) == .nowhere)
    }

    @Test("recorded names read back in order from the file, as a restarted server reads them")
    func recordReadsBack() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let first = (0..<5).map(Self.name)
        let second =
            [ObjectName(checksum: String(repeating: "0", count: 64), type: .commit), Self.name(7)]
            + ObjectType.allCases.map { ObjectName(checksum: String(repeating: "a", count: 63) + "b", type: $0) }

        // Act
        let recordedFirst = BorrowedObjects.record(first, storage: layout.storage, buildID: 1)
        let recordedSecond = BorrowedObjects.record(second, storage: layout.storage, buildID: 1)
        let readBack = try BorrowedObjects.recorded(storage: layout.storage, buildID: 1)
        let file = layout.storage.directory(1).appending(BorrowedObjects.fileName).string
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int

        // Assert
        #expect(recordedFirst && recordedSecond)
        #expect(readBack == first + second)
        #expect(size == (first.count + second.count) * 33)
    }

    @Test("a record torn by a crash is cut off before the next append, so later records read back whole")
    func tornRecordIsCutOff() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        #expect(BorrowedObjects.record([Self.name(1)], storage: layout.storage, buildID: 1))
        let file = layout.storage.directory(1).appending(BorrowedObjects.fileName).string
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0xab, 0xcd, 0xef]))
        try handle.close()

        // Act
        let tornRead = try BorrowedObjects.recorded(storage: layout.storage, buildID: 1)
        let appended = BorrowedObjects.record([Self.name(2)], storage: layout.storage, buildID: 1)
        let readBack = try BorrowedObjects.recorded(storage: layout.storage, buildID: 1)

        // Assert
        #expect(tornRead == [Self.name(1)])
        #expect(appended)
        #expect(readBack == [Self.name(1), Self.name(2)])
    }

    @Test("a symbolic link in place of the record is never written through")
    func symlinkedRecordIsRefused() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let target = layout.root + "/elsewhere"
        #expect(FileManager.default.createFile(atPath: target, contents: Data()))
        try FileManager.default.createSymbolicLink(
            atPath: layout.storage.directory(1).appending(BorrowedObjects.fileName).string,
            withDestinationPath: target)

        // Act
        let recorded = BorrowedObjects.record([Self.name(1)], storage: layout.storage, buildID: 1)

        // Assert
        #expect(!recorded, "the caller links instead")
        #expect(try FileManager.default.attributesOfItem(atPath: target)[.size] as? Int == 0)
    }

    @Test("adopting links every recorded object into the build, which keeps it when the main repo loses it")
    func adoptLinksRecordedObjects() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let inMain = Placement(inMain: true, uploaded: false, own: false, ownPrefixExists: false)
        let names = (0..<4).map(Self.name)
        for name in names { try layout.place(name, inMain) }
        let gone = Self.name(9)
        #expect(BorrowedObjects.record(names + [gone], storage: layout.storage, buildID: 1))

        // Act
        let first = try BorrowedObjects.adopt(storage: layout.storage, buildID: 1, clear: false)
        let again = try BorrowedObjects.adopt(storage: layout.storage, buildID: 1, clear: true)
        for name in names { try FileManager.default.removeItem(atPath: layout.main + "/" + name.relativePath.string) }
        var lookup = try ObjectLookup(storage: layout.storage, buildID: 1)

        // Assert
        #expect(first.recorded == 5 && first.linked == 4 && first.lost == [gone])
        #expect(again.recorded == 5 && again.present == 4 && again.linked == 0)
        #expect(try BorrowedObjects.recorded(storage: layout.storage, buildID: 1).isEmpty, "cleared")
        for name in names { #expect(lookup.place(of: name) == .build) }
    }

    @Test("adopting all builds of a repository leaves builds of other repositories alone")
    func adoptAllOnlyTouchesBuildsOfTheRepository() throws {
        // Arrange: build 1 of `main`; build 2 of another repository holding the same object.
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let name = Self.name(3)
        try layout.place(name, Placement(inMain: true, uploaded: false, own: false, ownPrefixExists: false))
        let other = layout.root + "/other"
        try FileManager.default.createDirectory(
            atPath: other + "/objects/" + name.checksum.prefix(2), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: other + "/" + name.relativePath.string, contents: Data()))
        try FileManager.default.createDirectory(
            atPath: layout.storage.directory(2).string + "/objects", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: layout.storage.parentDirectory(2).string, withDestinationPath: other)
        for build: Int32 in [1, 2] { #expect(BorrowedObjects.record([name], storage: layout.storage, buildID: build)) }

        // Act
        let adoptions = try BorrowedObjects.adoptAll(storage: layout.storage, repository: FilePath(layout.main))

        // Assert
        #expect(Array(adoptions.keys) == [1])
        #expect(layout.inode(layout.storage.ownObjectPath(1, name).string) != nil)
        #expect(layout.inode(layout.storage.ownObjectPath(2, name).string) == nil)
        #expect(try BorrowedObjects.recorded(storage: layout.storage, buildID: 2) == [name])
    }

    @Test("the shared lock is refused while a prune holds it exclusively, and the prune waits for shared holders")
    func adoptionLockExcludes() async throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let repository = FilePath(layout.main)
        let shared = AdoptionLock.shared(repository: repository)
        #expect(shared != nil)

        // Act: the prune starts waiting; new requests are turned away from then on.
        let prune = Task { try await AdoptionLock.exclusive(repository: repository, interval: .milliseconds(5)) }
        var refusedWhileWaiting = false
        for _ in 0..<400 where !refusedWhileWaiting {
            try await Task.sleep(for: .milliseconds(5))
            refusedWhileWaiting = AdoptionLock.shared(repository: repository) == nil
        }
        shared?.release()
        let exclusive = try await prune.value
        let refusedWhileHeld = AdoptionLock.shared(repository: repository) == nil
        exclusive.release()
        let grantedAfter = AdoptionLock.shared(repository: repository) != nil

        // Assert
        #expect(refusedWhileWaiting)
        #expect(refusedWhileHeld)
        #expect(grantedAfter)
    }
}
