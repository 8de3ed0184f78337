import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// `flat-manager-client` run as a process against a scripted local HTTP server (client.md Part A): the
/// command line, create, the manager URL and the token sources.
@Suite("flat-manager-client", .enabled(if: BinarySupport.hasClient))
struct ClientCommandLineTests {
    @Test func noSubcommandExitsWithOne() throws {
        let outcome = try ClientRun.client([])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "No subcommand specified, see --help for usage\n")
    }

    @Test func noTokenExitsWithOneBeforeAnyRequest() throws {
        let outcome = try ClientRun.client(["create", "http://127.0.0.1:1", "stable"])

        #expect(outcome.status == 1)
        #expect(outcome.stdout == "No token available, pass with --token, --token-file or $REPO_TOKEN\n")
    }

    @Test func anUnknownOptionIsAUsageErrorWithStatusTwo() throws {
        let outcome = try ClientRun.client(["--token", "t", "push", "--colour", "http://h/api/v1/build/1", "repo"])

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
        let outcome = try ClientRun.client(["--token", "t"] + arguments)

        #expect(outcome.status == 2)
        #expect(outcome.stdout.isEmpty)
        #expect(!outcome.stderr.isEmpty)
    }

    @Test func globalOptionsAreAcceptedAfterTheSubcommandToo() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(ClientRun.job(status: 0, log: "")))

        let outcome = try ClientRun.client(["prune", "-v", "--debug", "--token", "late", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer late")
    }

    @Test func conflictingPublicDownloadFlagsAreAUsageError() throws {
        let outcome = try ClientRun.client([
            "--token", "t", "create", "--public_download", "--no_public_download", "http://h", "r",
        ])

        #expect(outcome.status == 2)
    }

    @Test func anExpiredTokenIsRefusedBeforeAnyRequest() throws {
        let token = TokenSigner(key: Data("secret".utf8)).sign(Claims(sub: "build", exp: 1_000_000))

        let outcome = try ClientRun.client(["--token", token, "create", "http://127.0.0.1:1", "stable"])

        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("Token expired at 1970-01-12 13:46:40 UTC. Request a new token."))
    }

    @Test func createPostsTheBuildAndPrintsTheLocation() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let location = server.baseURL + "/api/v1/build/42"
        server.on("POST", "/api/v1/build", .json(#"{"id":42,"repo":"stable"}"#, headers: ["Location": location]))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client(
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
        let output = try ClientRun.output(outputFile)
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

        let outcome = try ClientRun.client(["--token", "tok", "--print-output", "create", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("{\n    \"command\": \"create\",\n    \"result\": {\n"))
    }

    @Test(arguments: [("/prefix", "/api/v1/build"), ("/prefix/", "/prefix/api/v1/build"), ("", "/api/v1/build")])
    func theManagerURLIsJoinedLikePythonsURLJoin(managerPath: String, expectedPath: String) throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", expectedPath, .json("{}", headers: ["Location": "x"]))

        let outcome = try ClientRun.client(["--token", "t", "create", server.baseURL + managerPath, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.map(\.path) == [expectedPath])
    }

    @Test func createTokenPostsTheSubsetRequestAndPrintsTheToken() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/token_subset", .json(#"{"token":"abc.def.ghi"}"#))

        let outcome = try ClientRun.client(
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
        server.on("POST", "/api/v1/prune", .json(ClientRun.job(status: 0, log: "")))
        let tokenFile = ClientRun.temporaryFile()
        try Data("  from-file \nsecond\n".utf8).write(to: URL(fileURLWithPath: tokenFile))

        let outcome = try ClientRun.client(["--token-file", tokenFile, "prune", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer from-file")
    }

    @Test func theEnvironmentTokenIsUsedLast() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(ClientRun.job(status: 0, log: "")))

        let outcome = try ClientRun.client(
            ["prune", server.baseURL, "stable"], environment: ["REPO_TOKEN": "from-env"])

        #expect(outcome.status == 0)
        #expect(server.requests.first?.headers["authorization"] == "Bearer from-env")
    }
}
