import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage
import Testing

/// Ours (issue #13): the update-repo job a publish queues makes the new commits installable with one
/// `flatpak build-update-repo` and leaves static deltas and the appstream checkout to a follow-up job.
@Suite("Installable-first update-repo jobs")
struct InstallableFirstTests {
    /// A committed and published build; returns the update-repo job the publish queued (not yet run).
    static func publish(_ harness: JobHarness) async throws -> Int32 {
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        try await harness.drain(.global)
        guard case .done(let publish) = try await harness.store.beginPublish(buildID: build.id) else {
            throw JobError.io("publish refused")
        }
        let claimed = try #require(
            try await harness.store.claimNextJob(
                queue: .repo("stable"), owner: "test:1:1", leaseSeconds: 60, allowConcurrent: false))
        #expect(claimed.id == publish.id)
        await harness.dispatcher.execute(claimed)
        let results = try #require(try await harness.store.job(id: publish.id)?.results)
        let json = try JSONSerialization.jsonObject(with: Data(results.utf8)) as? [String: Any]
        return Int32(try #require(json?["update-repo-job"] as? Int))
    }

    /// A complete static delta that no ref wants, so an update has one to retire.
    static func addUnwantedDelta(_ harness: JobHarness) throws -> Delta {
        let delta = Delta(from: nil, to: String(repeating: "cd", count: 32))
        let directory = "\(harness.directory)/repo/\(delta.directory)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("sb".utf8).write(to: URL(fileURLWithPath: directory + "/superblock"))
        return delta
    }

    @Test("with delta work, the publish's update writes the summary once and a follow-up does upstream's sequence")
    func deltaWorkGoesToAFollowUp() async throws {
        // Arrange
        let harness = try await JobHarness.make(repoExtra: #", "installable-first": true"#)
        defer { Task { await harness.close() } }
        let updateID = try await Self.publish(harness)
        let delta = try Self.addUnwantedDelta(harness)
        let commandsBefore = harness.runner.recorded.count

        // Act
        try await harness.drain(.repo("stable"))

        // Assert
        let update = try #require(try await harness.store.job(id: updateID))
        #expect(update.status == .ended, "\(update.log)")
        let lines = update.log.split(separator: "\n").map(String.init)
        #expect(lines.first == "Regenerating appstream branches and summary")
        #expect(!update.log.contains("Generating deltas"))
        let followUpLine = try #require(lines.last { $0.contains("are left to update job") })
        let followUpID = try #require(Int32(followUpLine.split(separator: " ").last.map(String.init) ?? ""))
        let followUp = try #require(try await harness.store.job(id: followUpID))
        #expect(followUp.kind == .updateRepo)
        #expect(followUp.status == .ended, "\(followUp.log)")
        let followUpLines = followUp.log.split(separator: "\n").map(String.init)
        #expect(followUpLines.first == "Regenerating appstream branches")
        #expect(followUpLines.last == "Updating summary")
        #expect(followUp.log.contains("Queuing delta"))
        #expect(!FileManager.default.fileExists(atPath: "\(harness.directory)/repo/\(delta.directory)"))
        let updates = harness.runner.recorded.dropFirst(commandsBefore).filter {
            $0.arguments.first == "build-update-repo"
        }
        #expect(
            updates.map { Array($0.arguments.dropFirst().dropLast()) } == [
                [], ["--no-update-summary"], ["--no-update-appstream"],
            ])
        #expect(try await harness.store.activeJobs().isEmpty)
    }

    @Test("without delta work, the publish's update is one build-update-repo plus the appstream checkout, no follow-up")
    func noDeltaWorkNoFollowUp() async throws {
        // Arrange
        let harness = try await JobHarness.make(repoExtra: #", "installable-first": true"#)
        defer { Task { await harness.close() } }
        let updateID = try await Self.publish(harness)
        let commandsBefore = harness.runner.recorded.count

        // Act
        try await harness.drain(.repo("stable"))

        // Assert
        let update = try #require(try await harness.store.job(id: updateID))
        #expect(update.status == .ended, "\(update.log)")
        #expect(update.log == "Regenerating appstream branches and summary\nExtracting appstream branches\n")
        let commands = harness.runner.recorded.dropFirst(commandsBefore)
        #expect(commands.map { $0.arguments.first } == ["build-update-repo"])
        #expect(commands.first?.arguments.contains { $0.hasPrefix("--no-update") } == false)
        #expect(try await harness.store.job(id: updateID + 1) == nil, "no follow-up was queued")
    }

    @Test("with installable-first off, the publish's update works in upstream's order")
    func offKeepsUpstreamOrder() async throws {
        // Arrange
        let harness = try await JobHarness.make(repoExtra: #", "installable-first": false"#)
        defer { Task { await harness.close() } }
        let updateID = try await Self.publish(harness)
        _ = try Self.addUnwantedDelta(harness)

        // Act
        try await harness.drain(.repo("stable"))

        // Assert
        let update = try #require(try await harness.store.job(id: updateID))
        let lines = update.log.split(separator: "\n").map(String.init)
        #expect(lines.first == "Regenerating appstream branches")
        #expect(lines.last == "Updating summary")
        #expect(update.log.contains("Queuing delta"))
        #expect(try await harness.store.activeJobs().isEmpty)
    }
}
