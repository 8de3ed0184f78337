import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// `flat-manager-client` run as a process against a scripted local HTTP server (client.md Part A).
@Suite("flat-manager-client", .enabled(if: BinarySupport.hasClient))
struct ClientCommandLineTests {
    /// Fast retries and polls, so scripted failures do not make the tests slow.
    static let fast = [
        "FLAT_MANAGER_CLIENT_RETRY_CAP": "0.01", "FLAT_MANAGER_CLIENT_RETRY_BUDGET": "3",
        "FLAT_MANAGER_CLIENT_POLL_SCALE": "0.01",
    ]

    static func client(_ arguments: [String], environment: [String: String] = [:]) throws -> BinarySupport.Outcome {
        try BinarySupport.run("flat-manager-client", arguments, environment: fast.merging(environment) { $1 })
    }

    /// The JSON object written with `--output`.
    static func output(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func temporaryFile() -> String { NSTemporaryDirectory() + "client-output-" + UUID().uuidString }

    static func job(status: Int, log: String, results: String? = nil) -> String {
        let resultsMember = results.map { #","results":\#(JSONText.string($0))"# } ?? ""
        return
            #"{"id":7,"kind":0,"status":\#(status),"contents":"{}","log":\#(JSONText.string(log)),"start_after":null,"repo":null\#(resultsMember)}"#
    }

    /// A build as the server encodes it (Core's `Build`), created at the epoch in repo `stable`.
    static func build(id: Int32, repoState: RepoState, commitJobID: Int32? = nil) throws -> String {
        let build = Build(
            id: id, created: Timestamp(secondsSinceEpoch: 0), repoState: repoState, commitJobID: commitJobID,
            repo: "stable")
        return String(decoding: try JSONEncoder().encode(build), as: UTF8.self)
    }

    @Test func noSubcommandExitsWithOne() throws {
        let outcome = try Self.client([])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "No subcommand specified, see --help for usage\n")
    }

    @Test func noTokenExitsWithOneBeforeAnyRequest() throws {
        let outcome = try Self.client(["create", "http://127.0.0.1:1", "stable"])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "No token available, pass with --token, --token-file or $REPO_TOKEN\n")
    }

    @Test func anUnknownOptionIsAUsageErrorWithStatusTwo() throws {
        let outcome = try Self.client(["--token", "t", "push", "--colour", "http://h/api/v1/build/1", "repo"])

        #expect(outcome.status == 2)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test(arguments: [
        ["push"],
        ["push", "http://h/api/v1/build/1"],
        ["push", "--parallel", "0", "http://h/api/v1/build/1", "repo"],
        ["push", "--token-type", "app", "http://h/api/v1/build/1", "repo"],
        ["commit"],
        ["commit", "--token-type", "x", "http://h/api/v1/build/1"],
        ["publish", "--wait-updates", "http://h/api/v1/build/1"],
        ["purge"],
        ["follow-job"],
        ["create", "http://h"],
        ["create-token", "http://h", "name"],
        ["create-token", "--duration", "soon", "http://h", "name", "build"],
        ["prune", "http://h"],
        ["no-such-command"],
    ])
    func malformedCommandLinesAreUsageErrorsWithStatusTwo(arguments: [String]) throws {
        let outcome = try Self.client(["--token", "t"] + arguments)

        #expect(outcome.status == 2)
        #expect(outcome.stdout.isEmpty)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test func globalOptionsAreAcceptedAfterTheSubcommandToo() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(Self.job(status: 0, log: "")))

        let outcome = try Self.client(["prune", "-v", "--debug", "--token", "late", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer late")
    }

    @Test func conflictingPublicDownloadFlagsAreAUsageError() throws {
        let outcome = try Self.client([
            "--token", "t", "create", "--public_download", "--no_public_download", "http://h", "r",
        ])

        #expect(outcome.status == 2)
    }

    @Test func anExpiredTokenIsRefusedBeforeAnyRequest() throws {
        let token = TokenSigner(key: Data("secret".utf8)).sign(Claims(sub: "build", exp: 1_000_000))

        let outcome = try Self.client(["--token", token, "create", "http://127.0.0.1:1", "stable"])

        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("Token expired at 1970-01-12 13:46:40 UTC. Request a new token."))
    }

    @Test func createPostsTheBuildAndPrintsTheLocation() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let location = server.baseURL + "/api/v1/build/42"
        server.on("POST", "/api/v1/build", .json(#"{"id":42,"repo":"stable"}"#, headers: ["Location": location]))
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client(
            [
                "--token", "tok", "--output", outputFile, "create", server.baseURL, "stable", "org.example.App",
                "--public_download",
            ])

        #expect(outcome.status == 0)
        #expect(outcome.stdout == location + "\n")
        let request = try #require(server.requests.first)
        #expect(request.headers["authorization"] == "Bearer tok")
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["repo"] as? String == "stable")
        #expect(body["app-id"] as? String == "org.example.App")
        #expect(body["public-download"] as? Bool == true)
        #expect(body["build-log-url"] == nil)
        let output = try Self.output(outputFile)
        #expect(output["command"] as? String == "create")
        let result = try #require(output["result"] as? [String: Any])
        #expect(result["location"] as? String == location)
        #expect(result["id"] as? Int == 42)
    }

    @Test func printOutputReplacesTheLocationLineWithTheResultJSON() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "POST", "/api/v1/build", .json(#"{"id":1}"#, headers: ["Location": server.baseURL + "/api/v1/build/1"]))

        let outcome = try Self.client(["--token", "tok", "--print-output", "create", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("{\n    \"command\": \"create\",\n    \"result\": {\n"))
    }

    @Test(arguments: [("/prefix", "/api/v1/build"), ("/prefix/", "/prefix/api/v1/build"), ("", "/api/v1/build")])
    func theManagerURLIsJoinedLikePythonsURLJoin(managerPath: String, expectedPath: String) throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", expectedPath, .json("{}", headers: ["Location": "x"]))

        let outcome = try Self.client(["--token", "t", "create", server.baseURL + managerPath, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.map(\.path) == [expectedPath])
    }

    @Test func anAPIErrorIsReportedOnStderrAndInTheOutput() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error = #"{"status":403,"error-type":"token-insufficient","message":"Not enough permissions"}"#
        server.on("POST", "/api/v1/build", .json(error, status: 403))
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client(["--token", "t", "--output", outputFile, "create", server.baseURL, "stable"])

        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.hasPrefix(
                "Api call to \(server.baseURL)/api/v1/build failed with status 403, details: {'error-type': 'token-insufficient', 'message': 'Not enough permissions', 'status': 403}"
            ))
        let output = try Self.output(outputFile)
        let failure = try #require(output["error"] as? [String: Any])
        #expect(failure["type"] as? String == "api")
        #expect(failure["status_code"] as? Int == 403)
        #expect(failure["url"] as? String == server.baseURL + "/api/v1/build")
        #expect((failure["details"] as? [String: Any])?["error-type"] as? String == "token-insufficient")
    }

    @Test func aNonJSONErrorBodyGetsTheStandInDetails() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/build", FakeServer.Response(status: 418, body: "teapot"))
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client(["--token", "t", "--output", outputFile, "create", server.baseURL, "stable"])

        #expect(outcome.status == 1)
        let details = try #require(
            (try Self.output(outputFile)["error"] as? [String: Any])?["details"] as? [String: Any])
        #expect(details["error-type"] as? String == "no-error")
        #expect(details["message"] as? String == "No json error details from server")
        #expect(details["status"] as? Int == 418)
    }

    @Test func aServerErrorIsRetried() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "POST", "/api/v1/build", .json(#"{"status":500}"#, status: 500),
            .json(#"{"id":3}"#, headers: ["Location": "L"]))

        let outcome = try Self.client(["--token", "t", "create", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.count == 2)
    }

    @Test func followJobFramesTheLogAndCountsBytes() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "GET", "/api/v1/job/7", .json(Self.job(status: 1, log: "Löading\nrunning build-updat")),
            .json(Self.job(status: 1, log: "")), .json(Self.job(status: 2, log: "e-repo\n")))

        let outcome = try Self.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"])

        #expect(outcome.status == 0)
        #expect(
            outcome.stdout
                == "/ Job was started\n| Löading\n| running build-updat| e-repo\n\\ Job completed successfully\n")
        let offsets = try server.requests.map {
            (try JSONSerialization.jsonObject(with: $0.body) as? [String: Any])?["log-offset"] as? Int
        }
        let firstChunkBytes = "Löading\nrunning build-updat".utf8.count
        #expect(offsets == [0, firstChunkBytes, firstChunkBytes])
    }

    @Test func aDelayedJobAnnouncesItsWaitOnce() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let startAfter = Int(Date().timeIntervalSince1970) + 1000
        let queued =
            #"{"id":9,"kind":2,"status":0,"contents":"{}","log":"","repo":"stable","start_after":"#
            + #"{"secs_since_epoch":\#(startAfter),"nanos_since_epoch":0}}"#
        server.on("GET", "/api/v1/job/9", .json(queued), .json(queued), .json(Self.job(status: 2, log: "")))

        let outcome = try Self.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/9"])

        #expect(outcome.status == 0)
        let waits = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("Waiting ") }
        #expect(waits.count == 1)
        #expect(waits.first?.hasSuffix(" seconds before starting job") == true)
    }

    @Test(
        "a start_after at either end of Int64 from a broken server is followed without a crash",
        arguments: [Int64.min, Int64.max])
    func anExtremeStartAfterIsFollowed(secs: Int64) throws {
        // Arrange
        let server = try FakeServer()
        defer { server.stop() }
        let queued =
            #"{"id":9,"kind":2,"status":0,"contents":"{}","log":"","repo":"stable","start_after":"#
            + #"{"secs_since_epoch":\#(secs),"nanos_since_epoch":0}}"#
        server.on("GET", "/api/v1/job/9", .json(queued), .json(Self.job(status: 2, log: "")))

        // Act
        let outcome = try Self.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/9"])

        // Assert
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.hasSuffix("\\ Job completed successfully\n"))
    }

    @Test(
        "a retry cap that is NaN, infinite or negative is ignored instead of crashing the client",
        arguments: ["nan", "inf", "-1", "1e300"])
    func unusableRetryCapIsIgnored(value: String) throws {
        // Arrange
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "POST", "/api/v1/prune", .json(#"{"status":503}"#, status: 503), .json(Self.job(status: 0, log: "")))

        // Act
        let outcome = try Self.client(
            ["--token", "t", "prune", server.baseURL, "stable"], environment: ["FLAT_MANAGER_CLIENT_RETRY_CAP": value])

        // Assert
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    @Test(
        "a poll scale that is NaN, infinite or negative is ignored instead of crashing the client",
        arguments: ["nan", "inf", "-1", "1e300"])
    func unusablePollScaleIsIgnored(value: String) throws {
        // Arrange
        let server = try FakeServer()
        defer { server.stop() }
        server.on("GET", "/api/v1/job/7", .json(Self.job(status: 1, log: "")), .json(Self.job(status: 2, log: "")))

        // Act
        let outcome = try Self.client(
            ["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"],
            environment: ["FLAT_MANAGER_CLIENT_POLL_SCALE": value])

        // Assert
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    @Test func aCommitThatFailedWithAServerErrorIsNotPostedAgainOnceTheJobExists() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on("POST", "/api/v1/build/42/commit", .json(#"{"status":500}"#, status: 500))
        let committing = try Self.build(id: 42, repoState: .committing, commitJobID: 7)
        server.on("GET", "/api/v1/build/42", .json(committing))
        server.on("GET", "/api/v1/build/42/commit", .json(Self.job(status: 2, log: "")))

        let outcome = try Self.client(["--token", "t", "commit", build])

        #expect(outcome.status == 0)
        #expect(server.requests.filter { $0.method == "POST" }.count == 1)
        #expect(outcome.stdout.hasSuffix("\\ Job completed successfully\n"))
    }

    @Test func aCommitRefusedWith400IsNotRetried() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error =
            #"{"status":400,"error-type":"wrong-repo-state","message":"Build is not in uploading state","#
            + #""current-state":"committing","expected-state":"uploading"}"#
        server.on("POST", "/api/v1/build/42/commit", .json(error, status: 400))

        let outcome = try Self.client(["--token", "t", "commit", server.baseURL + "/api/v1/build/42"])

        #expect(outcome.status == 1)
        #expect(server.requests.count == 1)
        #expect(outcome.stderr.contains("failed with status 400"))
    }

    @Test func aFailedCheckFailsTheCommit() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        let ready = try Self.build(id: 42, repoState: .ready)
        let extended =
            #"{"build":\#(ready),"build_refs":[],"checks":"#
            + #"[{"check_name":"lint","build_id":42,"job_id":5,"status":3,"status_reason":"bad","results":null}]}"#
        server.on(
            "POST", "/api/v1/build/42/commit",
            .json(Self.job(status: 0, log: ""), headers: ["Location": build + "/commit"]))
        server.on("GET", "/api/v1/build/42/extended", .json(extended))
        server.on("GET", "/api/v1/build/42/check/lint/job", .json(Self.job(status: 2, log: "checked\n")))

        let outcome = try Self.client(["--token", "t", "commit", build])

        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("Waiting for check: lint\n/ Job was started\n| checked\n"))
        #expect(outcome.stdout.hasSuffix("\\ Check lint has failed\n"))
        #expect(outcome.stderr.hasPrefix("Job failed: {'build_id': 42, 'check_name': 'lint'"))
        #expect(!server.requests.contains { $0.path == "/api/v1/build/42/commit" && $0.method == "GET" })
    }

    @Test func aFailedJobExitsWithOneAndReportsTheJob() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("GET", "/api/v1/job/7", .json(Self.job(status: 3, log: "boom\n", results: #"{"error-message":"x"}"#)))
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client([
            "--token", "t", "--output", outputFile, "follow-job", server.baseURL + "/api/v1/job/7",
        ])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "/ Job was started\n| boom\n\\ Job failed\n")
        #expect(outcome.stderr.hasPrefix("Job failed: {"))
        let failure = try #require(try Self.output(outputFile)["error"] as? [String: Any])
        #expect(failure["type"] as? String == "job")
        #expect((failure["job"] as? [String: Any])?["status"] as? Int == 3)
    }

    @Test func repeatedErrorsWhileFollowingAreIgnoredFiveTimes() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("GET", "/api/v1/job/7", .json(#"{"status":403}"#, status: 403))

        let outcome = try Self.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"])

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
            .json(Self.job(status: 0, log: ""), headers: ["Location": build + "/commit"]))
        server.on("GET", "/api/v1/build/42/commit", .json(Self.job(status: 2, log: "done\n", results: #"{"refs":{}}"#)))
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client(["--token", "t", "--output", outputFile, "commit", "--end-of-life", "old", build])

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
        let result = try #require(try Self.output(outputFile)["result"] as? [String: Any])
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

        let outcome = try Self.client(["--token", "t", "publish", server.baseURL + "/api/v1/build/42"])

        #expect(outcome.status == status)
        #expect(outcome.stdout.contains(line + "\n"))
    }

    @Test func publishWithWaitUpdateFollowsTheUpdateJobNextToTheBuild() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on(
            "POST", "/api/v1/build/42/publish",
            .json(Self.job(status: 0, log: ""), headers: ["Location": build + "/publish"]))
        server.on(
            "GET", "/api/v1/build/42/publish", .json(Self.job(status: 2, log: "", results: #"{"update-repo-job":9}"#)))
        server.on("GET", "/api/v1/job/9", .json(Self.job(status: 2, log: "updated\n")))

        let outcome = try Self.client(["--token", "t", "publish", "--wait-update", build])

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
        let outputFile = Self.temporaryFile()

        let outcome = try Self.client([
            "--token", "t", "--output", outputFile, "purge", server.baseURL + "/api/v1/build/5",
        ])

        #expect(outcome.status == 0)
        #expect((try Self.output(outputFile)["result"] as? [String: Any])?["status"] as? String == "build not found")
    }

    @Test func createTokenPostsTheSubsetRequestAndPrintsTheToken() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/token_subset", .json(#"{"token":"abc.def.ghi"}"#))

        let outcome = try Self.client(
            ["--token", "t", "create-token", server.baseURL, "ci", "build/42", "upload", "build", "--duration", "60"])

        #expect(outcome.status == 0)
        #expect(outcome.stdout == "abc.def.ghi\n")
        let body = try #require(try JSONSerialization.jsonObject(with: server.requests[0].body) as? [String: Any])
        #expect(body["scope"] as? [String] == ["upload", "build"])
        #expect(body["duration"] as? Int == 60)
        #expect(body["sub"] as? String == "build/42")
        #expect(body["name"] as? String == "ci")
    }

    @Test func theTokenFileFirstLineIsUsed() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(Self.job(status: 0, log: "")))
        let tokenFile = Self.temporaryFile()
        try Data("  from-file \nsecond\n".utf8).write(to: URL(fileURLWithPath: tokenFile))

        let outcome = try Self.client(["--token-file", tokenFile, "prune", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer from-file")
    }

    @Test func theEnvironmentTokenIsUsedLast() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(Self.job(status: 0, log: "")))

        let outcome = try Self.client(["prune", server.baseURL, "stable"], environment: ["REPO_TOKEN": "from-env"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer from-env")
    }
}
