import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// `flat-manager-client commit`, `publish` and `purge` against a scripted server: what is posted, what is
/// followed, the exit status (client.md Part A).
@Suite("flat-manager-client commit, publish and purge", .enabled(if: BinarySupport.hasClient))
struct ClientCommitPublishTests {
    @Test func aCommitThatFailedWithAServerErrorIsNotPostedAgainOnceTheJobExists() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on("POST", "/api/v1/build/42/commit", .json(#"{"status":500}"#, status: 500))
        let committing = try ClientRun.build(id: 42, repoState: .committing, commitJobID: 7)
        server.on("GET", "/api/v1/build/42", .json(committing))
        server.on("GET", "/api/v1/build/42/commit", .json(ClientRun.job(status: 2, log: "")))

        let outcome = try ClientRun.client(["--token", "t", "commit", build])

        #expect(outcome.status == 0)
        #expect(server.requests.filter { $0.method == "POST" }.count == 1)
        #expect(outcome.stdout.hasSuffix("\\ Job completed successfully\n"))
    }

    /// Ours (issue #13): against a long-polling server the client looks at the build again as soon as the held GET
    /// says the commit job ended, and again after a short pause while the build still says committing.
    @Test func aLongPolledCommitIsFollowedUntilTheBuildMovesOn() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        let committing = try ClientRun.build(id: 42, repoState: .committing, commitJobID: 7)
        let ready = try ClientRun.build(id: 42, repoState: .ready, commitJobID: 7)
        server.on(
            "POST", "/api/v1/build/42/commit",
            .json(ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/commit"]))
        server.on(
            "GET", "/api/v1/build/42/extended",
            .json(#"{"build":\#(committing),"build_refs":[],"checks":[]}"#),
            .json(#"{"build":\#(committing),"build_refs":[],"checks":[]}"#),
            .json(#"{"build":\#(ready),"build_refs":[],"checks":[]}"#))
        server.on(
            "GET", "/api/v1/build/42/commit",
            .json(ClientRun.job(status: 2, log: "done\n"), headers: [JobLogRequest.longPollHeader: "1"]))
        server.on("GET", "/api/v1/build/42", .json(ready))

        let outcome = try ClientRun.client(["--token", "t", "commit", build])

        #expect(outcome.status == 0, "\(outcome.stderr)")
        // Three looks: two while committing, one that is ready; without checks there is no final look.
        #expect(server.requests.filter { $0.path == "/api/v1/build/42/extended" }.count == 3)
        #expect(outcome.stdout.hasSuffix("| done\n\\ Job completed successfully\n"))
    }

    @Test func aCommitRefusedWith400IsNotRetried() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error =
            #"{"status":400,"error-type":"wrong-repo-state","message":"Build is not in uploading state","#
            + #""current-state":"committing","expected-state":"uploading"}"#
        server.on("POST", "/api/v1/build/42/commit", .json(error, status: 400))

        let outcome = try ClientRun.client(["--token", "t", "commit", server.baseURL + "/api/v1/build/42"])

        #expect(outcome.status == 1)
        #expect(server.requests.count == 1)
        #expect(outcome.stderr.contains("failed with status 400"))
    }

    @Test func aFailedCheckFailsTheCommit() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        let ready = try ClientRun.build(id: 42, repoState: .ready)
        let extended =
            #"{"build":\#(ready),"build_refs":[],"checks":"#
            + #"[{"check_name":"lint","build_id":42,"job_id":5,"status":3,"status_reason":"bad","results":null}]}"#
        server.on(
            "POST", "/api/v1/build/42/commit",
            .json(ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/commit"]))
        server.on("GET", "/api/v1/build/42/extended", .json(extended))
        server.on("GET", "/api/v1/build/42/check/lint/job", .json(ClientRun.job(status: 2, log: "checked\n")))

        let outcome = try ClientRun.client(["--token", "t", "commit", build])

        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("Waiting for check: lint\n/ Job was started\n| checked\n"))
        #expect(outcome.stdout.hasSuffix("\\ Check lint has failed\n"))
        #expect(outcome.stderr.hasPrefix("Job failed: {'build_id': 42, 'check_name': 'lint'"))
        #expect(!server.requests.contains { $0.path == "/api/v1/build/42/commit" && $0.method == "GET" })
    }

    @Test func aFailedJobExitsWithOneAndReportsTheJob() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "GET", "/api/v1/job/7", .json(ClientRun.job(status: 3, log: "boom\n", results: #"{"error-message":"x"}"#)))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client([
            "--token", "t", "--output", outputFile, "follow-job", server.baseURL + "/api/v1/job/7",
        ])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "/ Job was started\n| boom\n\\ Job failed\n")
        #expect(outcome.stderr.hasPrefix("Job failed: {"))
        let failure = try #require(try ClientRun.output(outputFile)["error"] as? [String: Any])
        #expect(failure["type"] as? String == "job")
        #expect((failure["job"] as? [String: Any])?["status"] as? Int == 3)
    }

    @Test func repeatedErrorsWhileFollowingAreIgnoredFiveTimes() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("GET", "/api/v1/job/7", .json(#"{"status":403}"#, status: 403))

        let outcome = try ClientRun.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == String(repeating: "Unexpected response 403 getting job log, ignoring\n", count: 5))
        #expect(server.requests.count == 6)
    }

    @Test func commitWaitsForChecksThenFollowsTheJob() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on(
            "POST", "/api/v1/build/42/commit",
            .json(ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/commit"]))
        server.on(
            "GET", "/api/v1/build/42/commit", .json(ClientRun.job(status: 2, log: "done\n", results: #"{"refs":{}}"#)))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client([
            "--token", "t", "--output", outputFile, "commit", "--end-of-life", "old", build,
        ])

        #expect(outcome.status == 0)
        #expect(
            outcome.stdout == """
                Committing build \(build)
                Waiting for commit job
                Waiting for checks, if any...
                / Job was started
                | done
                \\ Job completed successfully

                """)
        let post = try #require(server.requests.first)
        let body = try #require(try JSONSerialization.jsonObject(with: post.body) as? [String: Any])
        #expect(body["endoflife"] as? String == "old")
        #expect(body["endoflife_rebase"] is NSNull)
        #expect(body["token_type"] == nil)
        let result = try #require(try ClientRun.output(outputFile)["result"] as? [String: Any])
        #expect(result["results"] is [String: Any])
        #expect(result["location"] as? String == build + "/commit")
    }

    @Test(arguments: [
        ("published", Int32(0), "the build has been already published"),
        ("validating", Int32(0), "the build is still being validated or held for review"),
        ("failed", Int32(1), "the build has failed"),
    ])
    func aPublishRefusedWith400DependsOnTheCurrentState(state: String, status: Int32, line: String) throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error = #"{"status":400,"error-type":"wrong-published-state","message":"x","current-state":"\#(state)"}"#
        server.on("POST", "/api/v1/build/42/publish", .json(error, status: 400))

        let outcome = try ClientRun.client(["--token", "t", "publish", server.baseURL + "/api/v1/build/42"])

        #expect(outcome.status == status)
        #expect(outcome.stdout.contains(line + "\n"))
    }

    @Test func publishWithWaitUpdateFollowsTheUpdateJobNextToTheBuild() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on(
            "POST", "/api/v1/build/42/publish",
            .json(ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/publish"]))
        server.on(
            "GET", "/api/v1/build/42/publish",
            .json(ClientRun.job(status: 2, log: "", results: #"{"update-repo-job":9}"#)))
        server.on("GET", "/api/v1/job/9", .json(ClientRun.job(status: 2, log: "updated\n")))

        let outcome = try ClientRun.client(["--token", "t", "publish", "--wait-update", build])

        #expect(outcome.status == 0)
        #expect(
            outcome.stdout.contains(
                "Queued repo update job 9\nWaiting for repo update job\n/ Job was started\n| updated\n"))
        #expect(server.requests.last?.path == "/api/v1/job/9")
    }

    @Test func purgeOfAMissingBuildSucceeds() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "POST", "/api/v1/build/5/purge",
            .json(#"{"status":404,"error-type":"not-found","message":"No such build"}"#, status: 404))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client([
            "--token", "t", "--output", outputFile, "purge", server.baseURL + "/api/v1/build/5",
        ])

        #expect(outcome.status == 0)
        #expect(
            (try ClientRun.output(outputFile)["result"] as? [String: Any])?["status"] as? String == "build not found")
    }
}
