import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// A server killed while a commit job runs marks the job broken and the build failed when it comes back, and
/// keeps working (server.md §3.6).
@Suite("Restart during a job", .enabled(if: TestEnvironment.hasOSTree))
struct RestartTests {
    @Test(
        "with job-max-resumes 0, a commit interrupted by a crash is broken after restart, and a new build still publishes",
        arguments: TestEnvironment.databases)
    func interruptedCommitIsBrokenAfterRestart(database: DatabaseKind) async throws {
        // Arrange: a `flatpak` in front of PATH makes the first build-commit-from take 30 s; upstream's rule.
        let wrapper = try SlowFlatpak()
        let server = try await TestServer(database: database, extraPath: [wrapper.directory.url])
        try await withServerOutputOnFailure(server) {
            try await server.reconfigure(top: #"{"job-max-resumes": 0}"#)
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", buildURL, fixture.path])
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            try await wrapper.waitUntilCommitStarted()

            // Act
            await server.kill()
            _ = await Orphans.kill(naming: server.directory.url.path)
            try await server.start()
            let job = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let build = try await get(Build.self, buildURL, token: server.adminToken)
            try await publish(version: "1", to: server, with: client)

            // Assert
            #expect(job.status == .broken)
            #expect(build.repoState == .failed)
            #expect(build.repoStateReason == "Server was restarted during job")
            let builds = try await get([Build].self, server.managerURL + "/api/v1/build", token: server.adminToken)
            #expect(builds.contains { $0.id != build.id && $0.publishedState == .published })
        }
        await server.stop()
    }
}

/// Issue #14: by default an interrupted commit resumes after the restart and ends as an uninterrupted one.
@Suite("Resume after a restart", .enabled(if: TestEnvironment.hasOSTree))
struct ResumeAfterRestartTests {
    @Test(
        "a commit interrupted by a crash resumes after restart, the build becomes ready and publishes",
        arguments: TestEnvironment.databases)
    func interruptedCommitResumes(database: DatabaseKind) async throws {
        // Arrange: the first build-commit-from takes 30 s (the wrapper's later calls do not wait).
        let wrapper = try SlowFlatpak()
        try await withTestServer(database: database, extraPath: [wrapper.directory.url]) { server in
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", buildURL, fixture.path])
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
            try #require(commit.status == 200, "POST commit: \(commit.status) \(commit.text)")
            try await wrapper.waitUntilCommitStarted()

            // Act
            await server.kill()
            _ = await Orphans.kill(naming: server.directory.url.path)
            try await server.start()
            // The commit request is not repeated: the build is still Committing, its job runs again by itself.
            let driver = CrashCycleDriver(server: server, client: client, token: server.adminToken)
            for phase in [CrashPhase.commit, .publish, .updateRepo] {
                try await driver.run(phase, buildURL: buildURL, fixture: fixture)
            }
            let job = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let build = try await get(Build.self, buildURL, token: server.adminToken)

            // Assert
            #expect(job.status == .ended, "\(job.log)")
            #expect(job.log.contains("Resuming job after an interruption"), "\(job.log)")
            #expect(job.log.components(separatedBy: "Removing upload directory").count == 2, "\(job.log)")
            #expect(build.repoState == .ready)
            #expect(build.publishedState == .published)
            let ref = try #require(
                try await OSTreeTool.refs(repo: server.repoPath, prefix: "app/\(FixtureRepo.appID)/").first)
            #expect(try await OSTreeTool.historyLength(repo: server.repoPath, ref: ref) == 1)
        }
    }
}

/// A directory with a `flatpak` script that sleeps 30 s on the first `build-commit-from` (leaving a marker file
/// when it starts), then runs the real flatpak.
struct SlowFlatpak {
    let directory: TempDirectory
    let marker: URL

    init() throws {
        guard let realFlatpak = TestEnvironment.executable(named: "flatpak") else {
            throw TestSupportError.missingPrerequisite("flatpak")
        }
        directory = try TempDirectory(prefix: "flat-manager-slow-flatpak")
        marker = directory.appending("commit-started")
        let script = """
            #!/bin/sh
            # Test wrapper: slow down the first commit so that the test can kill the server during it.
            case " $* " in
                *" build-commit-from "*)
                    if [ ! -e '\(marker.path)' ]; then
                        touch '\(marker.path)'
                        sleep 30
                    fi
                    ;;
            esac
            exec '\(realFlatpak.path)' "$@"

            """
        let executable = directory.appending("flatpak")
        try Data(script.utf8).write(to: executable)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable.path)
    }

    /// Waits until the server's commit job has reached `flatpak build-commit-from`.
    func waitUntilCommitStarted() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: marker.path) {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("the commit job never ran flatpak build-commit-from")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// GET with a token, expecting 200 and a JSON body of type `T`.
func get<T: Decodable>(_ type: T.Type, _ urlText: String, token: String) async throws -> T {
    let response = try await HTTP.request("GET", try url(urlText), token: token)
    guard response.status == 200 else {
        throw TestSupportError.unexpected("GET \(urlText): \(response.status) \(response.text)")
    }
    return try JSONDecoder().decode(T.self, from: response.body)
}

/// A URL from text, or an error naming the text.
func url(_ text: String) throws -> URL {
    guard let url = URL(string: text) else { throw TestSupportError.unexpected("not a URL: \(text)") }
    return url
}
