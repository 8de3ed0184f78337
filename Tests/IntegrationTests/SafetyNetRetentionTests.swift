import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #15 part 3: a repo's `retention` cuts every ref's history to `keep-commits` on a schedule, with the real
/// server, client, ostree and flatpak.
@Suite("Safety net: retention", .enabled(if: TestEnvironment.hasOSTree))
struct SafetyNetRetentionTests {
    @Test(
        "with keep-commits 2 the scheduled prune leaves 2 commits, removes the rest, reports it, and spares a build in flight",
        arguments: TestEnvironment.databases)
    func scheduledPruneKeepsTwoCommits(database: DatabaseKind) async throws {
        // Arrange: a prune every 3.6 s, metrics sampled every second.
        let server = try await Management.server(
            database: database, environment: ["FLAT_MANAGER_METRICS_INTERVAL": "1"]
        ) { config in
            try Management.setRepoKey("retention", ["keep-commits": 2, "prune-every-hours": 0.001], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let ostree = try Management.tool("ostree")
            let ref = try await Management.appRef()
            let repo = server.repoPath.path
            try await publish(version: "1", to: server, with: client)
            let v1 = try #require(try await Management.refs(of: server.repoPath)[ref])
            // In flight: an upload of version 1's content now relies on objects the main repository holds (the
            // client skips them); the prunes below remove them from the main repository.
            let inFlight = try await Management.pushedBuild(version: "1", server: server, client: client)
            for version in ["2", "3", "4"] {
                try await publish(version: version, to: server, with: client)
            }

            // Act: wait for a scheduled prune to cut the history.
            let log = try await Self.waitForHistory(ref: ref, repo: repo, ostree: ostree, commits: 2)
            let metrics = try await Self.waitForMetric(
                "flat_manager_retention_prunable_objects{repo=\"stable\"}", server)
            // fsck with the server stopped: a scheduled prune (every 3.6 s here) deleting a commit's objects while
            // fsck walks them makes fsck report them missing.
            await server.stop()
            let fsck = try await ProcessRunner.run(ostree, ["fsck", "--repo=\(repo)"])
            try await server.start()
            try await client.check(["commit", "--wait", inFlight])
            try await client.check(["publish", "--wait", "--wait-update", inFlight])
            let user = try FlatpakUser()
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let output = try await user.run(FixtureRepo.appID)
            await server.stop()
            let fsckAfter = try await ProcessRunner.run(ostree, ["fsck", "--repo=\(repo)"])

            // Assert
            let commits = log.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("commit ") }
            #expect(commits.count == 2, "\(log)")
            let v1Object = "\(repo)/objects/\(v1.prefix(2))/\(v1.dropFirst(2)).commit"
            #expect(!FileManager.default.fileExists(atPath: v1Object), "version 1's commit was pruned")
            #expect(fsck.succeeded, "\(fsck.stdout)\n\(fsck.stderr)")
            #expect(metrics.contains("flat_manager_retention_prunable_bytes{repo=\"stable\"}"), "\(metrics)")
            #expect(output == "Hello 1", "the build in flight published and installs")
            #expect(fsckAfter.succeeded, "\(fsckAfter.stdout)\n\(fsckAfter.stderr)")
        }
        await server.stop()
    }

    @Test("a scheduled prune reports its dry run in the job log and result", arguments: TestEnvironment.databases)
    func scheduledPruneReportsDryRun(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey("retention", ["keep-commits": 1, "prune-every-hours": 0.0005], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            // Act: the first prune is queued at start-up; it is one of the first jobs.
            var found: [String: Any]?
            let deadline = ContinuousClock.now + .seconds(120)
            var id = 1
            while found == nil, ContinuousClock.now < deadline {
                let job = try await Management.call(server, "GET", "/api/v1/job/\(id)", token: server.adminToken)
                if job.status == 200, let object = try JSONSerialization.jsonObject(with: job.body) as? [String: Any],
                    object["kind"] as? Int == 5
                {
                    found = try await Management.finishedJob(server, id: id, token: server.adminToken)
                } else if job.status == 200 {
                    id += 1
                } else {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }

            // Assert
            let job = try #require(found, "no prune job was queued by the schedule")
            #expect(job["status"] as? Int == 2, "\(job)")
            let log = job["log"] as? String ?? ""
            #expect(log.contains("Retention: keeping 1 commits of every ref (depth 0)"), "\(log)")
            #expect(log.contains("Dry-run report: "), "\(log)")
            let results = try Management.results(job)
            #expect(results["depth"] as? Int == 0, "\(results)")
            #expect((results["dry-run"] as? [String: Any])?["total-objects"] != nil, "\(results)")
        }
        await server.stop()
    }

    /// `ostree log` of `ref` once it lists `commits` commits (polled for up to two minutes).
    static func waitForHistory(ref: String, repo: String, ostree: URL, commits: Int) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let log = try await ProcessRunner.check(ostree, ["log", "--repo=\(repo)", ref]).stdout
            let count = log.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("commit ") }.count
            if count == commits { return log }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("the history of \(ref) never had \(commits) commits:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// The `/metrics` text once it contains `series` (polled for up to a minute).
    static func waitForMetric(_ series: String, _ server: TestServer) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let text = try await HTTP.request("GET", server.url("/metrics")).text
            if text.contains(series) { return text }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("/metrics never showed \(series):\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
