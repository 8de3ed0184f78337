import Foundation
import SystemPackage
import Testing

@testable import OSTree

#if canImport(Glibc)
    import Glibc
#endif

/// `missing_objects` answers many names of one `objects/xx` directory from one listing of it (`ObjectListing`),
/// kept between requests while the directory is unchanged (`ObjectListings`).
@Suite("Object listings")
struct ObjectListingTests {
    typealias Layout = ObjectAdopterTests.Layout
    typealias Placement = ObjectAdopterTests.Placement

    /// Many names of one prefix (`ab`), so that the directories are read whole.
    static func name(_ index: Int, type: ObjectType = .filez) -> ObjectName {
        ObjectName(checksum: "ab" + String(format: "%062x", index * 7919 + 1), type: type)
    }

    /// How long a directory must be unchanged for its listing to be kept, in these tests (the server waits a
    /// second); `settleDown()` waits that long.
    static let settle: Int64 = 50_000_000

    static func settleDown() { usleep(100_000) }

    static func openDirectory(_ path: String) throws -> Int32 {
        let directory = open(path, O_RDONLY | O_DIRECTORY)
        try #require(directory >= 0, "open \(path)")
        return directory
    }

    @Test("a directory's keys sort as the names do, and only object names of the four types count")
    func keysFollowNames() throws {
        // Arrange
        let names = (0..<200).map { Self.name($0, type: ObjectType.allCases[$0 % 4]) }
        let rejected = [
            String(repeating: "a", count: 62) + ".file", String(repeating: "A", count: 62) + ".filez",
            String(repeating: "a", count: 61) + ".filez", String(repeating: "a", count: 62) + "filez",
            String(repeating: "g", count: 62) + ".dirtree", String(repeating: "a", count: 62) + ".filez.tmp",
        ]

        // Act
        let keys = names.map { ObjectKey($0) }
        let fromEntries = names.map { name in
            Array(name.fileName.utf8.dropFirst(2)).withUnsafeBytes { ObjectKey(entryName: $0) }
        }
        let rejectedKeys = rejected.map { entry in Array(entry.utf8).withUnsafeBytes { ObjectKey(entryName: $0) } }

        // Assert
        #expect(keys == fromEntries)
        let sortedByKey = zip(names, keys).sorted { $0.1! < $1.1! }.map(\.0.fileName)
        #expect(
            sortedByKey
                == names.map(\.fileName).sorted { lhs, rhs in
                    // Checksum first, then the type in `allCases` order.
                    lhs.prefix(64) != rhs.prefix(64)
                        ? lhs.prefix(64) < rhs.prefix(64)
                        : ObjectName(lhs)!.type.index < ObjectName(rhs)!.type.index
                })
        #expect(Set(keys.compactMap { $0 }).count == names.count)
        #expect(rejectedKeys.allSatisfy { $0 == nil })
        #expect(ObjectType.allCases.map(\.index) == Array(0..<4), "the borrowed-objects record's type bytes")
    }

    @Test("the batch lookup answers as the per-name lookup does, whether directories are read whole or not")
    func batchAgreesWithPerName() throws {
        // Arrange: 48 names of one prefix over every placement, and 16 names of distinct prefixes (looked up one by
        // one); a temporary file and a subdirectory with an object's name sit beside them.
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let crowded = (0..<48).map { Self.name($0) }
        let spread = Placement.all.indices.map(ObjectAdopterTests.name)
        for (index, name) in crowded.enumerated() { try layout.place(name, Placement.all[index % 16]) }
        for (index, name) in spread.enumerated() { try layout.place(name, Placement.all[index]) }
        let absentName = Self.name(1000)
        try FileManager.default.createDirectory(
            atPath: layout.main + "/" + absentName.relativePath.string, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: layout.main + "/objects/ab/tmp-upload", contents: Data()))
        let names = crowded + spread + [absentName]

        // Act
        var lookup = try ObjectLookup(storage: layout.storage, buildID: 1)
        let single = names.map { lookup.place(of: $0) }
        let whole = lookup.places(of: names)
        let low = lookup.places(of: names, prefixes: 0..<128)
        let high = lookup.places(of: names, prefixes: 128..<256)

        // Assert
        #expect(whole.map(\.0).sorted() == Array(names.indices))
        var batch = [ObjectPlace](repeating: .build, count: names.count)
        for (index, place) in whole { batch[index] = place }
        #expect(batch == single)
        #expect(single.last == .nowhere, "a directory is no object")
        #expect(Set(single) == [.build, .main, .nowhere])
        #expect((low + high).sorted { $0.0 < $1.0 }.map(\.1) == single)
        #expect(low.allSatisfy { names[$0.0].prefixIndex! < 128 })
        #expect(lookup.places(of: names, prefixes: 250..<300).allSatisfy { names[$0.0].prefixIndex! >= 250 })
        #expect(lookup.places(of: names, prefixes: -5..<0).isEmpty, "no prefix outside 0..<256, and no trap")
    }

    @Test("a directory is read whole when it is small next to the names asked, otherwise not")
    func readsWholeOnlyWhenCheaper() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        for index in 0..<300 { try layout.place(Self.name(index), Placement.all[1]) }
        let directory = try Self.openDirectory(layout.main + "/objects/ab")
        defer { close(directory) }
        let kept = ObjectListings(maxKeys: 1 << 20)
        Self.settleDown()

        // Act
        let forMany = ObjectLookup.listing(of: directory, wanted: 300, kept: kept, settle: Self.settle)
        let forOne = ObjectLookup.listing(of: directory, wanted: 1, kept: ObjectListings(maxKeys: 1 << 20))

        // Assert
        #expect(forMany?.keys.count == 300)
        #expect(forOne == nil, "one name is one look-up")
        #expect(kept.keptKeys == 300)
        #expect(ObjectLookup.listing(of: directory, wanted: 1, kept: kept)?.keys.count == 300, "kept and current")
    }

    @Test("a kept listing is dropped once a name is added to or removed from its directory")
    func changesInvalidate() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        for index in 0..<40 { try layout.place(Self.name(index), Placement.all[1]) }
        let path = layout.main + "/objects/ab"
        let directory = try Self.openDirectory(path)
        defer { close(directory) }
        let kept = ObjectListings(maxKeys: 1 << 20)
        Self.settleDown()
        let first = try #require(ObjectLookup.listing(of: directory, wanted: 40, kept: kept, settle: Self.settle))

        // Act
        try layout.place(Self.name(40), Placement.all[1])
        let afterAdding = ObjectLookup.listing(of: directory, wanted: 1, kept: kept, settle: Self.settle)
        let refreshed = ObjectLookup.listing(of: directory, wanted: 41, kept: kept, settle: Self.settle)
        try FileManager.default.removeItem(atPath: layout.main + "/" + Self.name(0).relativePath.string)
        let afterRemoving = try #require(
            ObjectLookup.listing(of: directory, wanted: 41, kept: kept, settle: Self.settle))

        // Assert
        #expect(kept.keptKeys == 0, "changed since")
        #expect(first.contains(ObjectKey(Self.name(0))!) && !first.contains(ObjectKey(Self.name(40))!))
        #expect(afterAdding == nil, "one name for a changed directory: not from the old listing")
        #expect(refreshed?.contains(ObjectKey(Self.name(40))!) == true)
        #expect(!afterRemoving.contains(ObjectKey(Self.name(0))!))
        #expect(afterRemoving.keys.count == 40)
    }

    @Test("a listing of a directory changed within the last second is used once, not kept")
    func recentChangesAreNotKept() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        for index in 0..<40 { try layout.place(Self.name(index), Placement.all[1]) }
        let directory = try Self.openDirectory(layout.main + "/objects/ab")
        defer { close(directory) }
        let kept = ObjectListings(maxKeys: 1 << 20)

        // Act
        let listing = ObjectLookup.listing(of: directory, wanted: 40, kept: kept, settle: 5_000_000_000)

        // Assert
        #expect(listing?.keys.count == 40)
        #expect(kept.keptKeys == 0)
    }

    @Test("kept listings stay within their budget, the least recently used dropped first")
    func budget() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        for index in 0..<30 {
            try layout.place(
                Self.name(index), Placement(inMain: true, uploaded: true, own: true, ownPrefixExists: true))
        }
        let directories = try [
            layout.main + "/objects/ab", layout.storage.directory(1).string + "/objects/ab",
            layout.storage.uploadDirectory(1).string + "/objects/ab",
        ].map(Self.openDirectory)
        defer { for directory in directories { close(directory) } }
        let kept = ObjectListings(maxKeys: 70)
        Self.settleDown()

        // Act
        for directory in directories[0...1] {
            _ = ObjectLookup.listing(of: directory, wanted: 30, kept: kept, settle: Self.settle)
        }
        _ = ObjectLookup.listing(of: directories[0], wanted: 30, kept: kept, settle: Self.settle)
        _ = ObjectLookup.listing(of: directories[2], wanted: 30, kept: kept, settle: Self.settle)

        // Assert: the first directory was used last before the third came, so the second went.
        #expect(kept.keptKeys == 60)
        let stamps = directories.map { DirectoryStamp($0)! }
        #expect(kept.listing(for: stamps[0]) != nil)
        #expect(kept.listing(for: stamps[1]) == nil)
        #expect(kept.listing(for: stamps[2]) != nil)
    }

    @Test("warming keeps the listings of a repository's object directories, within the budget, and stops when told")
    func warmKeepsListings() throws {
        // Arrange: 40 names of `ab` and one of each of 16 other prefixes in the main repository.
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let inMain = Placement.all[1]
        for index in 0..<40 { try layout.place(Self.name(index), inMain) }
        for index in 0..<16 { try layout.place(ObjectAdopterTests.name(index), inMain) }
        let objects = FilePath(layout.main + "/objects")
        Self.settleDown()

        // Act
        let all = ObjectListings(maxKeys: 1 << 20)
        let warmed = ObjectLookup.warm(objects: objects, kept: all, settle: Self.settle)
        let again = ObjectLookup.warm(objects: objects, kept: all, settle: Self.settle)
        let small = ObjectListings(maxKeys: 30)
        let withinBudget = ObjectLookup.warm(objects: objects, kept: small, settle: Self.settle)
        let stopped = ObjectLookup.warm(
            objects: objects, kept: ObjectListings(maxKeys: 1 << 20), settle: Self.settle, stop: { true })
        let unsettled = ObjectLookup.warm(
            objects: objects, kept: ObjectListings(maxKeys: 1 << 20), settle: 60_000_000_000)

        // Assert
        #expect(warmed == ObjectLookup.Warmth(kept: 56, unsettled: 0) && all.keptKeys == 56)
        #expect(again == ObjectLookup.Warmth(), "kept and current: not read again")
        #expect(withinBudget.kept <= 30 && small.keptKeys == withinBudget.kept && withinBudget.kept > 0)
        #expect(stopped == ObjectLookup.Warmth())
        #expect(unsettled == ObjectLookup.Warmth(kept: 0, unsettled: 17), "changed within the margin: tried later")
        let directory = try Self.openDirectory(layout.main + "/objects/ab")
        defer { close(directory) }
        #expect(all.listing(for: try #require(DirectoryStamp(directory)))?.keys.count == 40)
    }

    @Test("directories with nanosecond times settle in 50 ms, those with whole seconds in two seconds")
    func settleMargins() throws {
        // Arrange
        let layout = try Layout()
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let directory = try Self.openDirectory(layout.main + "/objects")
        defer { close(directory) }
        var fine = try #require(DirectoryStamp(directory))
        fine.modified.tv_nsec = 1
        var coarse = fine
        coarse.modified.tv_nsec = 0
        coarse.changed.tv_nsec = 0
        let changed = max(fine.modified.tv_sec, fine.changed.tv_sec)

        // Act
        let oneSecondLater = timespec(tv_sec: changed + 1, tv_nsec: fine.changed.tv_nsec)

        // Assert
        #expect(fine.settleMargin == 50_000_000 && coarse.settleMargin == 2_000_000_000)
        #expect(fine.settled(before: oneSecondLater))
        #expect(!coarse.settled(before: oneSecondLater))
        #expect(coarse.settled(before: timespec(tv_sec: changed + 3, tv_nsec: 0)))
    }
}
