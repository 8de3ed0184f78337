import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import OSTree
import SystemPackage
import Testing

@Suite("Commit and publish jobs")
struct CommitAndPublishJobTests {
    @Test("a commit imports all refs in one build-commit-from, updates the build repo, and leaves the build ready")
    func commitSucceeds() async throws {
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: [
            "app/org.test.Hello/x86_64/stable", "runtime/org.test.Hello.Locale/x86_64/stable",
        ])
        guard
            case .done(let job) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: "gone", endOfLifeRebase: "org.test.New", tokenType: 2))
        else {
            Issue.record("commit refused")
            return
        }

        try await harness.drain(.global)

        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .ended)
        #expect(finished.results?.contains("app/org.test.Hello/x86_64/stable") == true)
        #expect(finished.log.hasPrefix("Committing ref app/org.test.Hello/x86_64/stable"))
        #expect(finished.log.contains("Removing upload directory"))
        #expect(try await harness.store.build(id: build.id)?.repoState == .ready)
        #expect(finished.log.contains("Committing ref runtime/org.test.Hello.Locale/x86_64/stable"))
        let commits = harness.runner.recorded.filter { $0.arguments.first == "build-commit-from" }
        let buildDir = "\(harness.config.buildRepoBase)/\(build.id)"
        // One run for both refs, which flatpak reads from the upload repository's refs (no --src-ref).
        #expect(commits.count == 1)
        let arguments = try #require(commits.first?.arguments)
        #expect(
            Array(arguments.suffix(3)) == [
                buildDir, "app/org.test.Hello/x86_64/stable", "runtime/org.test.Hello.Locale/x86_64/stable",
            ])
        #expect(!arguments.contains { $0.hasPrefix("--src-ref") })
        #expect(arguments.contains("--src-repo=\(buildDir)/upload"))
        #expect(arguments.contains("--end-of-life-rebase=org.test.Hello=org.test.New"))
        #expect(arguments.contains("--token-type=2"))
        #expect(FileManager.default.fileExists(atPath: buildDir + "/org.test.Hello.flatpakref"))
        #expect(!FileManager.default.fileExists(atPath: buildDir + "/org.test.Hello.Locale.flatpakref"))
        #expect(!FileManager.default.fileExists(atPath: buildDir + "/upload"))
    }

    @Test("a failing command fails the commit job and the build, with the command's stderr")
    func commitFails() async throws {
        let harness = try await JobHarness.make(runner: FakeRunner(failing: "--untrusted"))
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        guard
            case .done(let job) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        else {
            Issue.record("commit refused")
            return
        }

        try await harness.drain(.global)

        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .broken)
        #expect(finished.results?.contains("simulated failure") == true)
        #expect(finished.log.contains("Job failed: "))
        let failed = try #require(try await harness.store.build(id: build.id))
        #expect(failed.repoState == .failed)
        #expect(failed.repoStateReason?.contains("simulated failure") == true)
    }

    @Test("a build without refs fails instead of staying in committing")
    func commitWithoutRefs() async throws {
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: [])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))

        try await harness.drain(.global)

        let failed = try #require(try await harness.store.build(id: build.id))
        #expect(failed.repoState == .failed)
        #expect(failed.repoStateReason == "No refs in build")
    }

    @Test("configured checks put the build in validating with one pending check each")
    func commitWithChecks() async throws {
        let harness = try await JobHarness.make(
            repoExtra:
                #", "hooks": {"checks": {"lint": {"command": ["true"]}, "size": {"command": ["true"], "reviewable": true}}}"#
        )
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        let commitJob = try #require(
            try await harness.store.claimNextJob(
                queue: .global, owner: "test:1:1", leaseSeconds: 60, allowConcurrent: true))

        await harness.dispatcher.execute(commitJob)

        #expect(try await harness.store.build(id: build.id)?.repoState == .validating)
        let checks = try await harness.store.checks(buildID: build.id)
        #expect(checks.map(\.checkName).sorted() == ["lint", "size"])
        #expect(checks.allSatisfy { $0.status == .pending })
    }

    @Test("a publish refuses screenshots that several apps of the build could own, before importing anything")
    func publishRefusesAmbiguousScreenshots() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: [
            "screenshots/x86_64", "app/org.test.A/x86_64/stable", "app/org.test.B/x86_64/stable",
        ])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        try await harness.drain(.global)
        guard case .done(let publish) = try await harness.store.beginPublish(buildID: build.id) else {
            Issue.record("publish refused")
            return
        }

        // Act
        try await harness.drain(.repo("stable"))

        // Assert
        let finished = try #require(try await harness.store.job(id: publish.id))
        #expect(finished.status == .broken)
        #expect(
            finished.log.contains(
                "Refusing screenshots/x86_64: it is not attributable to one app (org.test.A, org.test.B)"),
            "\(finished.log)")
        #expect(!finished.log.contains("Importing build"))
        #expect(try await harness.store.build(id: build.id)?.publishedState == .failed)
        #expect(!FileManager.default.fileExists(atPath: "\(harness.directory)/repo/refs/heads/app/org.test.A"))
    }

    @Test("a publish imports the build, writes the flatpakref and queues one update-repo job")
    func publishQueuesUpdate() async throws {
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: ["app/org.test.Hello/x86_64/stable"])
        _ = try await harness.store.beginCommit(
            buildID: build.id, contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        try await harness.drain(.global)
        guard case .done(let publish) = try await harness.store.beginPublish(buildID: build.id) else {
            Issue.record("publish refused")
            return
        }
        let claimed = try #require(
            try await harness.store.claimNextJob(
                queue: .repo("stable"), owner: "test:1:1", leaseSeconds: 60, allowConcurrent: false))
        #expect(claimed.id == publish.id)

        await harness.dispatcher.execute(claimed)

        let finished = try #require(try await harness.store.job(id: publish.id))
        #expect(finished.status == .ended)
        let results = try JSONSerialization.jsonObject(with: Data((finished.results ?? "").utf8)) as? [String: Any]
        let updateID = try #require(results?["update-repo-job"] as? Int)
        #expect(finished.log.contains("Queued repository update job \(updateID)"))
        #expect(try await harness.store.build(id: build.id)?.publishedState == .published)
        #expect(FileManager.default.fileExists(atPath: "\(harness.directory)/repo/appstream/org.test.Hello.flatpakref"))
        let update = try #require(try await harness.store.job(id: Int32(updateID)))
        #expect(update.kind == .updateRepo)
    }

    @Test("an update-repo job regenerates appstream and the summary in upstream's order")
    func updateRepo() async throws {
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let (_, job) = try await harness.store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)

        try await harness.drain(.repo("stable"))

        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .ended)
        let lines = finished.log.split(separator: "\n").map(String.init)
        #expect(lines.first == "Regenerating appstream branches")
        #expect(lines.last == "Updating summary")
        let updates = harness.runner.recorded.filter { $0.arguments.first == "build-update-repo" }
        #expect(updates.count == 2)
        #expect(updates.first?.arguments.contains("--no-update-summary") == true)
        #expect(updates.last?.arguments.contains("--no-update-appstream") == true)
    }

    @Test("an update-repo job removes delta directories a killed generation left without superblock")
    func updateRepoRemovesIncompleteDeltas() async throws {
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let incomplete = Delta(from: nil, to: String(repeating: "ab", count: 32))
        let complete = Delta(from: nil, to: String(repeating: "cd", count: 32))
        for delta in [incomplete, complete] {
            try FileManager.default.createDirectory(
                atPath: "\(harness.directory)/repo/\(delta.directory)", withIntermediateDirectories: true)
            try Data("part".utf8).write(to: URL(fileURLWithPath: "\(harness.directory)/repo/\(delta.directory)/0"))
        }
        try Data("sb".utf8).write(
            to: URL(fileURLWithPath: "\(harness.directory)/repo/\(complete.directory)/superblock"))
        let (_, job) = try await harness.store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)

        try await harness.drain(.repo("stable"))

        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .ended, "\(finished.log)")
        #expect(
            finished.log.contains("Removing incomplete delta \(incomplete.directory.string.dropFirst("deltas/".count))")
        )
        #expect(!FileManager.default.fileExists(atPath: "\(harness.directory)/repo/\(incomplete.directory)"))
        #expect(
            !finished.log.contains("Removing incomplete delta \(complete.directory.string.dropFirst("deltas/".count))"))
    }
}

@Suite("The repository's .flatpakrepo file")
struct FlatpakRepoFileTests {
    @Test("an update-repo job writes <name>.flatpakrepo with the repo URL and its exported public key")
    func updateRepoWritesTheRepoFile() async throws {
        let harness = try await JobHarness.make(
            repoExtra: #", "suggested-repo-name": "example", "deploy-collection-id": true"#,
            keys: ExportedKeys(repoKeys: ["stable": "cHVibGljIGtleQ=="]))
        defer { Task { await harness.close() } }
        let (_, job) = try await harness.store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)

        try await harness.drain(.repo("stable"))

        #expect(try await harness.store.job(id: job.id)?.status == .ended)
        let text = try String(contentsOfFile: "\(harness.directory)/repo/stable.flatpakrepo", encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "[Flatpak Repo]")
        #expect(lines.contains("Title=example"))
        #expect(lines.contains("Url=\(harness.config.baseURL)/repo/stable/"))
        #expect(lines.contains("DeployCollectionID=org.test.Stable"))
        #expect(lines.contains("GPGKey=cHVibGljIGtleQ=="))
    }
}
