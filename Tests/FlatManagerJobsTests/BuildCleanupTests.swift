import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import Logging
import OSTree
import SystemPackage
import Testing

/// The cleanup sweep (issue #14 point 5): a failed or purged build's directory goes once the grace period has
/// passed since a sweep first saw it; a ready build's stays.
@Suite("Build cleanup sweep")
struct BuildCleanupTests {
    @Test("a failed build's directory is removed after the grace period, a ready build's is kept")
    func removesAfterGracePeriod() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        var failed = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        try await harness.store.setBuildFailed(id: failed.id, reason: "test")
        failed = try #require(try await harness.store.build(id: failed.id))
        let ready = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        let storage = BuildStorage(base: harness.config.buildRepoBase)
        var logger = Logger(label: "cleanup-test")
        logger.logLevel = .critical
        let cleanup = BuildCleanup(
            store: harness.store, storage: storage, retentionSeconds: 60, interval: .seconds(600), logger: logger)
        let start = Timestamp.now()

        // Act
        let firstRound = try await cleanup.sweep(now: start)
        let keptDuringGrace = storage.exists(failed.id)
        let secondRound = try await cleanup.sweep(now: start.adding(seconds: 61))
        let thirdRound = try await cleanup.sweep(now: start.adding(seconds: 120))

        // Assert
        #expect(firstRound.isEmpty)
        #expect(keptDuringGrace)
        #expect(secondRound == [failed.id])
        #expect(!storage.exists(failed.id))
        #expect(thirdRound.isEmpty)
        #expect(storage.exists(ready.id))
        #expect(try await harness.store.build(id: failed.id)?.repoState == .failed)
    }

    @Test("a build directory already gone counts as cleaned, and a symbolic link in its place is not followed")
    func goneOrLinkedDirectory() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let storage = BuildStorage(base: harness.config.buildRepoBase)
        let gone = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        try await harness.store.setBuildFailed(id: gone.id, reason: "test")
        try storage.remove(gone.id)
        let linked = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        try await harness.store.setBuildFailed(id: linked.id, reason: "test")
        let outside = harness.directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/file"))
        try storage.remove(linked.id)
        try FileManager.default.createSymbolicLink(
            atPath: storage.directory(linked.id).string, withDestinationPath: outside)
        let cleanup = BuildCleanup(
            store: harness.store, storage: storage, retentionSeconds: 0, interval: .seconds(600),
            logger: Logger(label: "cleanup-test"))

        // Act
        let cleaned = try await cleanup.sweep(now: .now())

        // Assert
        #expect(cleaned == [gone.id, linked.id])
        #expect(FileManager.default.fileExists(atPath: outside + "/file"))
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(atPath: storage.directory(linked.id).string)) == nil)
    }
}
