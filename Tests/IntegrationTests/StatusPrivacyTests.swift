import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The `/status` pages respect privacy (issue #10, step 6): a private build is shown to anonymous viewers by id and
/// states only, job output never shows them the server's absolute paths, and `status-requires-token` puts every
/// page behind a `jobs` token.
@Suite("Status pages and privacy", .enabled(if: TestEnvironment.hasOSTree))
struct StatusPrivacyTests {
    @Test(
        "a private build is shown to anonymous viewers by id and state only, in full with a jobs token",
        arguments: TestEnvironment.databases)
    func privateBuildIsNotDescribed(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange: a private build whose commit fails (its ref names a commit nobody uploaded).
            let (build, job) = try await failedCommit(on: server, publicDownload: false)
            let reason = try await failureReason(of: build, on: server)

            // Act
            let buildPage = try await HTTP.request("GET", server.url("/status/build/\(build)"))
            let dashboard = try await HTTP.request("GET", server.url("/status"))
            let jobPage = try await HTTP.request("GET", server.url("/status/\(job)"))
            let jobLog = try await HTTP.request("GET", server.url("/status/\(job)/log?offset=0"))
            let withToken = try await HTTP.request(
                "GET", server.url("/status/build/\(build)"), token: server.adminToken)

            // Assert
            #expect(buildPage.status == 200 && jobPage.status == 200 && jobLog.status == 200)
            #expect(buildPage.text.contains("<h1>Build \(build)</h1>"))
            #expect(buildPage.text.contains("failed"), "the state is shown: \(buildPage.text)")
            for (page, text) in [
                ("build", buildPage.text), ("dashboard", dashboard.text), ("job", jobPage.text), ("log", jobLog.text),
            ] {
                #expect(!text.contains(FixtureRepo.appID), "the \(page) page names the app: \(text)")
                #expect(!text.contains(Self.ref), "the \(page) page names the ref: \(text)")
                #expect(!text.contains(reason.prefix(30)), "the \(page) page gives the failure reason: \(text)")
            }
            #expect(jobLog.text.isEmpty)
            #expect(withToken.text.contains(Self.ref), "a jobs token sees the refs: \(withToken.text)")
            #expect(withToken.text.contains(FixtureRepo.appID))
        }
    }

    @Test(
        "a public build is still described, and its job output shows anonymous viewers no server paths",
        arguments: TestEnvironment.databases)
    func publicBuildIsDescribedWithoutPaths(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange: the failed commit's log quotes the command line, full of the server's directories.
            let (build, job) = try await failedCommit(on: server, publicDownload: true)
            let apiJob = try await Management.object(server, "GET", "/api/v1/job/\(job)", token: server.adminToken)
            let apiLog = try #require(apiJob["log"] as? String)
            let serverDirectory = server.directory.url.path
            #expect(apiLog.contains(serverDirectory), "precondition: the job log holds server paths: \(apiLog)")

            // Act
            let buildPage = try await HTTP.request("GET", server.url("/status/build/\(build)"))
            let jobPage = try await HTTP.request("GET", server.url("/status/\(job)"))
            let jobLog = try await HTTP.request("GET", server.url("/status/\(job)/log?offset=0"))
            let middleOfALine = try await HTTP.request(
                "GET", server.url("/status/\(job)/log?offset=\(apiLog.utf8.count - 5)"))
            let withToken = try await HTTP.request("GET", server.url("/status/\(job)"), token: server.adminToken)

            // Assert
            #expect(buildPage.text.contains(Self.ref), "a public build's refs are shown: \(buildPage.text)")
            #expect(buildPage.text.contains(FixtureRepo.appID))
            #expect(jobLog.text.contains("Committing ref \(Self.ref)"), "the log is shown: \(jobLog.text)")
            for (page, text) in [
                ("build", buildPage.text), ("job", jobPage.text), ("log", jobLog.text),
                ("log tail", middleOfALine.text),
            ] {
                #expect(!text.contains(serverDirectory), "the \(page) page shows a server path: \(text)")
                #expect(!text.contains("/build-repo/\(build)/upload"), "the \(page) page shows a path: \(text)")
            }
            #expect(jobPage.text.contains("&lt;build-repo-base&gt;"), "paths become placeholders: \(jobPage.text)")
            #expect(withToken.text.contains(serverDirectory), "a jobs token sees the paths: \(withToken.text)")
        }
    }

    @Test(
        "status pages are public by default; with status-requires-token they answer 401, 403 or 200",
        arguments: TestEnvironment.databases)
    func statusRequiresToken(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let (build, job) = try await failedCommit(on: server, publicDownload: true)
            let noJobs = try Management.token(scope: ["build", "upload", "download", "publish"])
            let jobs = try Management.token(scope: ["jobs"])
            let pages = ["/status", "/status/\(job)", "/status/\(job)/log", "/status/build/\(build)"]
            var publicAnswers: [String: [Int]] = [:]
            for page in pages {
                let anonymous = try await HTTP.request("GET", server.url(page))
                let weak = try await HTTP.request("GET", server.url(page), token: noJobs)
                publicAnswers[page] = [anonymous.status, weak.status]
            }
            try await server.reconfigure(top: #"{"status-requires-token": true}"#)

            for page in pages {
                // Act
                let anonymous = try await HTTP.request("GET", server.url(page))
                let weak = try await HTTP.request("GET", server.url(page), token: noJobs)
                let allowed = try await HTTP.request("GET", server.url(page), token: jobs)

                // Assert
                #expect(publicAnswers[page] == [200, 200], "\(page) without status-requires-token")
                expectError(anonymous, status: 401, type: "invalid-token")
                expectError(weak, status: 403, type: "token-insufficient")
                #expect(allowed.status == 200, "\(page): \(allowed.text)")
            }
        }
    }

    // MARK: - Helpers

    static let ref = "app/\(FixtureRepo.appID)/x86_64/stable"

    /// A build of the fixture app with one ref whose commit was never uploaded, committed: the commit job breaks
    /// and the build fails with a reason. Returns the build and commit job ids.
    private func failedCommit(on server: TestServer, publicDownload: Bool) async throws -> (build: Int, job: Int) {
        let token = server.adminToken
        let build = try await Management.object(
            server, "POST", "/api/v1/build", token: token,
            json: ["repo": "stable", "app-id": FixtureRepo.appID, "public-download": publicDownload])
        let buildID = try #require(build["id"] as? Int)
        _ = try await Management.object(
            server, "POST", "/api/v1/build/\(buildID)/build_ref", token: token,
            json: ["ref": Self.ref, "commit": String(repeating: "0f", count: 32)])
        let job = try await Management.object(
            server, "POST", "/api/v1/build/\(buildID)/commit", token: token, json: [:])
        let jobID = try #require(job["id"] as? Int)
        let finished = try await Management.finishedJob(server, id: jobID, token: token)
        #expect(finished["status"] as? Int == 3, "precondition: the commit job breaks: \(finished)")
        return (buildID, jobID)
    }

    /// The build's `repo_state_reason`, as the API gives it to its owner.
    private func failureReason(of build: Int, on server: TestServer) async throws -> String {
        let object = try await Management.object(server, "GET", "/api/v1/build/\(build)", token: server.adminToken)
        return try #require(object["repo_state_reason"] as? String)
    }
}
