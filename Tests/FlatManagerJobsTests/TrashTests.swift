import FlatManagerCore
import FlatManagerStore
import Foundation
import Logging
import OSTree
import SystemPackage
import Testing

import class TestSupport.TempDirectory

@testable import FlatManagerJobs

/// Ours (issue #13): directories the commit and publish jobs remove are renamed out of the way at once and removed
/// in the background; what a process leaves behind is swept.
@Suite("Background removal of build directories")
struct TrashTests {
    static let logger = Logger(label: "trash-test")

    @Test("a discarded directory is gone at once, and its trash is removed in the background")
    func discardRenamesThenRemoves() throws {
        // Arrange
        let scratch = try TempDirectory(prefix: "fm-trash")
        let tree = scratch.path + "/7"
        try FileManager.default.createDirectory(atPath: tree + "/objects/ab", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/objects/ab/cd.filez"))

        // Act
        let discarded = try Trash.discard(tree, label: "build-7", logger: Self.logger)

        // Assert: gone at once; the trash (a dot-named sibling) goes in the background, or is swept.
        #expect(discarded)
        #expect(!FileManager.default.fileExists(atPath: tree))
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        #expect(left.allSatisfy { $0.hasPrefix(".removed-build-7-") }, "\(left)")
        _ = Trash.sweep(scratch.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    @Test("discarding a directory that is not there does nothing")
    func discardOfAMissingDirectory() throws {
        let scratch = try TempDirectory(prefix: "fm-trash")

        #expect(try Trash.discard(scratch.path + "/missing", label: "upload", logger: Self.logger) == false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    @Test("the cleanup sweep removes trash left in the build area and nothing else")
    func cleanupSweepsTrash() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        let base = harness.config.buildRepoBase.string
        try FileManager.default.createDirectory(
            atPath: base + "/.removed-build-3-left/objects", withIntermediateDirectories: true)
        let cleanup = BuildCleanup(
            store: harness.store, storage: BuildStorage(base: harness.config.buildRepoBase), retentionSeconds: 60,
            interval: .seconds(600), logger: Self.logger)

        // Act
        _ = try await cleanup.sweep(now: .now())

        // Assert
        #expect(!FileManager.default.fileExists(atPath: base + "/.removed-build-3-left"))
        #expect(FileManager.default.fileExists(atPath: "\(base)/\(build.id)"))
    }
}
