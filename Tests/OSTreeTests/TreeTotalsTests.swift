import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("DirectoryWalk.totals")
struct TreeTotalsTests {
    @Test("adds the sizes of the regular files below a directory and counts those of one name")
    func addsSizesAndCountsNames() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try OSTreeFixtures.write("12345", to: directory + "/a/b/superblock")
            try OSTreeFixtures.write("123", to: directory + "/a/c/superblock")
            try OSTreeFixtures.write("1", to: directory + "/top")
            try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)

            // Act
            let totals = DirectoryWalk.totals(below: FilePath(directory), countingFilesNamed: "superblock")

            // Assert
            #expect(totals == TreeTotals(bytes: 9, files: 3, named: 2))
        }
    }

    @Test("neither follows nor counts a symbolic link, to a file or to a directory")
    func ignoresSymbolicLinks() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try OSTreeFixtures.write("outside file", to: directory + "/outside/file")
            try OSTreeFixtures.write("in", to: directory + "/tree/file")
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/tree/linked-dir", withDestinationPath: directory + "/outside")
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/tree/linked-file", withDestinationPath: directory + "/outside/file")
            try FileManager.default.createSymbolicLink(atPath: directory + "/tree/root", withDestinationPath: "/")

            // Act
            let totals = DirectoryWalk.totals(below: FilePath(directory + "/tree"))

            // Assert
            #expect(totals == TreeTotals(bytes: 2, files: 1, named: 0))
        }
    }

    @Test("ends with nil when asked to stop, and when the root cannot be opened")
    func stopsWhenAsked() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            for index in 0..<20 { try OSTreeFixtures.write("x", to: directory + "/d\(index)/f") }
            var asked = 0

            // Act
            let stopped = DirectoryWalk.totals(below: FilePath(directory)) {
                asked += 1
                return asked > 3
            }
            let missing = DirectoryWalk.totals(below: FilePath(directory + "/nothing"))

            // Assert
            #expect(stopped == nil)
            #expect(asked == 4, "asked once per directory until it said stop")
            #expect(missing == nil)
        }
    }
}
