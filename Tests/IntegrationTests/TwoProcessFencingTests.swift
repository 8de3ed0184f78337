import FlatManagerCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Two server processes on one PostgreSQL database (issue 14 point 2 and its tests): a job whose lease holder
/// dies or stalls is taken over by the other process, and the old holder writes nothing after the takeover.
///
/// What the other process does with the job follows the recovery rules of the day: on main it breaks the job (and
/// fails the build); with resumable jobs it finishes it. The assertions hold for both: the job and the build reach
/// a final state, and nothing of the old holder appears after the takeover.
@Suite(
    "Two processes: takeover and fencing", .enabled(if: TestEnvironment.hasOSTree && TestEnvironment.hasPostgres),
    .serialized)
struct TwoProcessFencingTests {
    /// Short leases, so that a stalled holder loses its job in seconds (`FLAT_MANAGER_LEASE_SECONDS`, ours).
    static let environment = ["FLAT_MANAGER_LEASE_SECONDS": "3"]

    @Test("a kill -9 of the holder mid-commit: the other process brings job and build to a final state")
    func killedHolderMidCommit() async throws {
        let tool = try HeldFlatpak()
        let first = try await TestServer(
            database: .postgres, extraPath: [tool.directory.url], environment: Self.environment)
        try await withServerOutputOnFailure(first) {
            // Fencing alone: without resumes, nobody may legitimately run this job's tools again after the
            // takeover (with resumes, either process may claim the re-queued job; CrashCycleTests cover that).
            try await first.reconfigure(top: #"{"job-max-resumes": 0}"#)
            let client = try Client(token: first.adminToken)
            let buildURL = try await client.createBuild(managerURL: first.managerURL)
            try await client.check(["push", buildURL, try await FixtureRepo.shared.repository(version: "1").path])
            try tool.holdCommits()
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: first.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            _ = try await tool.waitUntilHeld()
            let second = try await SecondServer(
                like: first, extraPath: [tool.directory.url], environment: Self.environment)

            // Act: the holder dies; its tool must die with it before anything is let go.
            await first.kill()
            let survivors = await ProcessTable.survivors(naming: tool.directory.path, after: .seconds(2))
            tool.release()

            // Assert
            let path = try buildPath(buildURL) + "/commit"
            let job = try await FencingProbe.waitFor(second.baseURL, path, token: first.adminToken) {
                ($0["status"] as? Int ?? 0) >= JobStatus.ended.rawValue
            }
            let build = try await FencingProbe.object(second.baseURL, try buildPath(buildURL), token: first.adminToken)
            #expect(survivors.isEmpty, "tools of the killed holder survived: \(survivors)")
            #expect([2, 3].contains(job["status"] as? Int), "job: \(job)")
            #expect(build["repo_state"] as? Int != Int(RepoState.committing.rawValue), "build: \(build)")
            await second.stop()
        }
    }

    @Test("a kill -9 of the holder mid-publish: the other process brings job and build to a final state")
    func killedHolderMidPublish() async throws {
        let tool = try HeldFlatpak()
        let first = try await TestServer(
            database: .postgres, extraPath: [tool.directory.url], environment: Self.environment)
        try await withServerOutputOnFailure(first) {
            // Fencing alone: without resumes, nobody may legitimately run this job's tools again after the
            // takeover (with resumes, either process may claim the re-queued job; CrashCycleTests cover that).
            try await first.reconfigure(top: #"{"job-max-resumes": 0}"#)
            let client = try Client(token: first.adminToken)
            let buildURL = try await client.createBuild(managerURL: first.managerURL)
            try await client.check(["push", buildURL, try await FixtureRepo.shared.repository(version: "1").path])
            try await client.check(["commit", "--wait", buildURL])
            try tool.holdCommits()
            let publish = try await HTTP.postJSON(
                try url(buildURL + "/publish"), [String: String](), token: first.adminToken)
            try #require(publish.status == 200, "POST publish: \(publish.status) \(publish.text)")
            _ = try await tool.waitUntilHeld()
            let second = try await SecondServer(
                like: first, extraPath: [tool.directory.url], environment: Self.environment)

            // Act
            await first.kill()
            let survivors = await ProcessTable.survivors(naming: tool.directory.path, after: .seconds(2))
            tool.release()

            // Assert
            let path = try buildPath(buildURL) + "/publish"
            let job = try await FencingProbe.waitFor(second.baseURL, path, token: first.adminToken) {
                ($0["status"] as? Int ?? 0) >= JobStatus.ended.rawValue
            }
            let build = try await FencingProbe.object(second.baseURL, try buildPath(buildURL), token: first.adminToken)
            let history = try await refHistory(first)
            #expect(survivors.isEmpty, "tools of the killed holder survived: \(survivors)")
            #expect([2, 3].contains(job["status"] as? Int), "job: \(job)")
            #expect(build["published_state"] as? Int != Int(PublishedState.publishing.rawValue), "build: \(build)")
            #expect(history.count <= 1, "more than one commit for one publish: \(history)")
            await second.stop()
        }
    }

    @Test("a holder stopped past its lease and continued writes nothing after the takeover")
    func stalledHolderIsFenced() async throws {
        let tool = try HeldFlatpak()
        let first = try await TestServer(
            database: .postgres, extraPath: [tool.directory.url], environment: Self.environment)
        try await withServerOutputOnFailure(first) {
            // Fencing alone: without resumes, nobody may legitimately run this job's tools again after the
            // takeover (with resumes, either process may claim the re-queued job; CrashCycleTests cover that).
            try await first.reconfigure(top: #"{"job-max-resumes": 0}"#)
            let client = try Client(token: first.adminToken)
            let buildURL = try await client.createBuild(managerURL: first.managerURL)
            try await client.check(["push", buildURL, try await FixtureRepo.shared.repository(version: "1").path])
            try tool.holdCommits()
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: first.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            let held = try await tool.waitUntilHeld()
            let second = try await SecondServer(
                like: first, extraPath: [tool.directory.url], environment: Self.environment)
            let jobID = try #require(Self.jobID(commit.body))

            // Act: freeze the holder and its tool (as a VM freeze would), wait for the takeover, thaw.
            kill(held.serverPID, SIGSTOP)
            kill(-held.toolPID, SIGSTOP)
            try await waitForTakeover(first, jobID: jobID, holder: held.serverPID)
            let takeover = tool.entries().count
            let logAtTakeover = try await FencingProbe.query(first, "SELECT log FROM jobs WHERE id = \(jobID)")
            kill(-held.toolPID, SIGCONT)
            kill(held.serverPID, SIGCONT)
            // The thawed holder must kill its own tool; if it has not within five seconds, let the tool go on (which
            // is what an unfenced holder would do) so that the assertions below catch any write.
            let tools = await ProcessTable.survivors(naming: "\(tool.directory.path)/flatpak", after: .seconds(5))
            tool.release()
            let noticed = await waitForLostLease(first)

            // Assert
            let afterTakeover = tool.entries().dropFirst(takeover).filter { $0.serverPID == held.serverPID }
            let log = try await FencingProbe.query(first, "SELECT log FROM jobs WHERE id = \(jobID)")
            let reason = try await FencingProbe.query(
                first, "SELECT coalesce(repo_state_reason, '') FROM builds WHERE commit_job_id = \(jobID)")
            let results = try await FencingProbe.query(
                first, "SELECT coalesce(results, '') FROM jobs WHERE id = \(jobID)")
            #expect(noticed, "the thawed holder never logged that it lost its lease")
            #expect(tools.isEmpty, "the thawed holder did not kill its tool: \(tools)")
            #expect(afterTakeover.isEmpty, "the stalled holder ran tools after the takeover: \(afterTakeover)")
            #expect(!log.contains("Lost the lease") && !reason.contains("Lost the lease"))
            #expect(!results.contains("Lost the lease"), "results: \(results)")
            #expect(log.hasPrefix(logAtTakeover), "the job log was rewritten: \(log)")
            _ = try await FencingProbe.waitFor(
                second.baseURL, try buildPath(buildURL) + "/commit", token: first.adminToken
            ) {
                ($0["status"] as? Int ?? 0) >= JobStatus.ended.rawValue
            }
            await second.stop()
        }
        await first.stop()
    }

    /// Waits until the job's lease is no longer the one `holder` took (broken, or claimed by the other process).
    func waitForTakeover(_ server: TestServer, jobID: Int, holder: pid_t) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let held = try await FencingProbe.query(
                server, "SELECT count(*) FROM job_leases WHERE job_id = \(jobID) AND owner LIKE '%:\(holder):%'")
            if held == "0" { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestSupportError.timedOut("the other process never took job \(jobID) over")
    }

    /// Waits (up to 20 s) until the thawed holder has reported its lost lease in its own log; false if it never does
    /// (an unfenced holder goes on instead, which the assertions then catch).
    func waitForLostLease(_ server: TestServer) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if await server.output().contains("lost its lease") { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// `/api/v1/build/N` of a build URL.
    func buildPath(_ buildURL: String) throws -> String {
        guard let range = buildURL.range(of: "/api/v1/build/") else {
            throw TestSupportError.unexpected("not a build URL: \(buildURL)")
        }
        return String(buildURL[range.lowerBound...])
    }

    /// The commits of the app ref in the main repository, newest first.
    func refHistory(_ server: TestServer) async throws -> [String] {
        let refs = try await Management.refs(of: server.repoPath)
        guard let ref = refs.keys.first(where: { $0.hasPrefix("app/") }),
            let ostree = TestEnvironment.executable(named: "ostree")
        else { return [] }
        let log = try await ProcessRunner.check(ostree, ["log", "--repo=\(server.repoPath.path)", ref])
        return log.stdout.split(separator: "\n").filter { $0.hasPrefix("commit ") }.map(String.init)
    }

    static func jobID(_ body: Data) -> Int? {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["id"] as? Int
    }
}
