import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import FlatManagerJobs

@Suite("Disk figures of the metrics sampler")
struct DiskFiguresTests {
    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("measures summary size, complete deltas and disk usage per repo and of the build area")
    func measuresEachRepoAndTheBuildArea() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try Self.write("summary!", to: directory + "/repo/summary")
            try Self.write("1234", to: directory + "/repo/deltas/ab/cdef/superblock")
            try Self.write("12", to: directory + "/repo/deltas/ab/cdef/0")
            try Self.write("123", to: directory + "/repo/deltas/gh/ijkl/superblock")
            try Self.write("build", to: directory + "/builds/1/objects/aa/bb.filez")
            try FileManager.default.createDirectory(atPath: directory + "/bare", withIntermediateDirectories: true)

            // Act
            let figures = try #require(
                DiskFigures.measure(
                    repos: [("stable", FilePath(directory + "/repo")), ("bare", FilePath(directory + "/bare"))],
                    buildArea: FilePath(directory + "/builds")))

            // Assert
            #expect(figures.summaryBytes == ["stable": 8, "bare": 0])
            #expect(figures.deltaCounts == ["stable": 2, "bare": 0])
            #expect(figures.repoBytes == ["stable": 17, "bare": 0])
            #expect(figures.buildAreaBytes == 5)
        }
    }

    @Test("gives nothing when stopped, so a shutdown never waits for a walk of a large repo")
    func givesNothingWhenStopped() async throws {
        try await withTemporaryDirectory { directory in
            try Self.write("x", to: directory + "/repo/objects/aa/bb.filez")
            let stop = StopFlag()
            stop.raise()
            #expect(
                DiskFigures.measure(
                    repos: [("stable", FilePath(directory + "/repo"))], buildArea: FilePath(directory),
                    until: stop.isRaised) == nil)
        }
    }
}
