import Foundation
import Testing

@testable import FlatManagerAPI

/// `max-build-bytes` after a restart: the first upload counts what the build's upload repository already holds.
@Suite("Upload tally")
struct UploadTallyTests {
    @Test("a build's total starts from its uploaded objects and delta parts, not its config, and no symlink target")
    func totalCountsUploadedFilesOnly() throws {
        // Arrange
        let upload = FileManager.default.temporaryDirectory.appendingPathComponent("fm-tally-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: upload) }
        let files = FileManager.default
        try files.createDirectory(atPath: upload + "/objects/ab", withIntermediateDirectories: true)
        try files.createDirectory(atPath: upload + "/deltas/AA/x", withIntermediateDirectories: true)
        _ = files.createFile(atPath: upload + "/config", contents: Data(count: 1000))
        _ = files.createFile(atPath: upload + "/objects/ab/cd.filez", contents: Data(count: 300))
        _ = files.createFile(atPath: upload + "/deltas/AA/x/0", contents: Data(count: 20))
        try files.createSymbolicLink(atPath: upload + "/objects/ab/ef.filez", withDestinationPath: upload + "/config")
        let tally = UploadTally()

        // Act
        let total = tally.total(buildID: 7, uploadDirectory: upload)
        let fitsExactly = tally.add(180, buildID: 7, limit: 500)
        let overLimit = tally.add(1, buildID: 7, limit: 500)

        // Assert
        #expect(total == 320)
        #expect(fitsExactly)
        #expect(!overLimit)
    }
}
