import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Per-subcommand options and output of `flat-manager-client` that client.md B.2 adds to Part A: `--version`,
/// `--help`, `gentoken`, `--all-objects`, plain upload lines when stdout is not a terminal, log levels, and the
/// result JSON of the subcommands not covered by `ClientCommandLineTests` and its sibling suites.
@Suite("flat-manager-client subcommand options", .enabled(if: BinarySupport.hasClient))
struct ClientSubcommandOptionTests {
    static func client(_ arguments: [String], environment: [String: String] = [:]) throws -> BinarySupport.Outcome {
        try ClientRun.client(arguments, environment: environment)
    }

    /// The decoded payload of a JWT.
    static func payload(of token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".")
        try #require(parts.count == 3)
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let data = try #require(Data(base64Encoded: base64))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func versionPrintsTheProgramAndVersion() throws {
        let outcome = try Self.client(["--version"])

        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("flat-manager-client 0.5"))
    }

    @Test(arguments: [
        ("create", ["--public_download", "--no_public_download", "--build-log-url"]),
        (
            "push",
            [
                "--commit", "--publish", "--wait", "--wait-update", "--minimal-token", "--extra-id", "--ignore-delta",
                "--end-of-life", "--end-of-life-rebase", "--token-type", "--build-log-url", "--all-objects",
            ]
        ),
        ("commit", ["--wait", "--end-of-life", "--end-of-life-rebase", "--token-type"]),
        ("publish", ["--wait", "--wait-update", "--allow-downgrade"]),
        ("purge", ["<build-url>"]),
        ("create-token", ["--duration"]),
        ("follow-job", ["<job-url>"]),
        ("prune", ["<manager-url>", "<repo>"]),
        ("gentoken", ["--secret", "--secret-file", "--base64", "--scope", "--jti", "--duration", "--token-type"]),
    ])
    func everySubcommandHasHelpListingItsOptions(subcommand: String, options: [String]) throws {
        let outcome = try Self.client([subcommand, "--help"])

        #expect(outcome.status == 0)
        for option in options {
            #expect(outcome.stdout.contains(option), "\(subcommand) --help lacks \(option)")
        }
    }

    @Test func gentokenSignsA05TokenWithTheSecret() throws {
        let outcome = try Self.client([
            "gentoken", "--secret", "secret", "--name", "ci", "--sub", "build/7", "--scope", "upload", "build",
            "--repo", "stable", "--duration", "600", "--jti", "t-1",
        ])

        #expect(outcome.status == 0)
        let token = outcome.stdout.trimmingCharacters(in: .newlines)
        let payload = try Self.payload(of: token)
        #expect(payload["sub"] as? String == "build/7")
        #expect(payload["name"] as? String == "ci")
        #expect(payload["scope"] as? [String] == ["upload", "build"])
        #expect(payload["repos"] as? [String] == ["stable"])
        #expect(payload["prefixes"] as? [String] == [""])
        #expect(payload["branches"] as? [String] == ["stable"])
        #expect(payload["apps"] as? [String] == [])
        #expect(payload["jti"] as? String == "t-1")
        let exp = try #require(payload["exp"] as? Int)
        #expect(abs(exp - Int(Date().timeIntervalSince1970) - 600) < 60)
        let claims = try TokenSigner(key: Data("secret".utf8)).verify(token)
        #expect(claims.sub == "build/7")
    }

    @Test func gentokenWithoutJTIHasANullJTIAndVerboseShowsTheClaims() throws {
        let outcome = try Self.client(["gentoken", "-v", "--base64", "--secret", "c2VjcmV0"])

        #expect(outcome.status == 0)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("Token: {") == true)
        #expect(lines.first?.contains(#""jti":null"#) == true)
        #expect(lines.first?.contains(#""scope":["build","upload","download","publish","jobs"]"#) == true)
        let claims = try TokenSigner(key: Data("secret".utf8)).verify(try #require(lines.last))
        #expect(claims.scope == ["build", "upload", "download", "publish", "jobs"])
    }

    @Test(arguments: [
        (["gentoken", "--secret", "s", "--scope", "build", "fly"], "Unknown scope 'fly'"),
        (["gentoken"], "No secret specified, use --secret or --secret-file"),
        (["gentoken", "--secret-file", "/nonexistent/secret"], "Error reading secrets: "),
        (["gentoken", "--base64", "--secret", "not base64!"], "Invalid base64 secret"),
    ])
    func gentokenRefusalsExitWithOne(arguments: [String], message: String) throws {
        let outcome = try Self.client(arguments)

        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix(message))
        #expect(outcome.stdout.isEmpty)
    }

    @Test func gentokenNeedsNoAPIToken() throws {
        let outcome = try Self.client(["gentoken", "--secret", "secret"])

        #expect(outcome.status == 0)
        #expect(!outcome.stdout.contains("No token available"))
    }

    @Test func prunePostsTheRepoAndReturnsTheJob() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(ClientRun.job(status: 0, log: "")))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try Self.client(["--token", "t", "--output", outputFile, "prune", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(outcome.stdout.isEmpty)
        let body = try JSONSerialization.jsonObject(with: try #require(server.requests.first).body) as? [String: Any]
        #expect(body?["repo"] as? String == "stable")
        let output = try ClientRun.output(outputFile)
        #expect(output["command"] as? String == "prune")
        #expect((output["result"] as? [String: Any])?["id"] as? Int == 7)
    }

    @Test func aPurgeOfABuildInUseIsASuccessWithAnEmptyResult() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error = #"{"status":400,"error-type":"generic-error","message":"Can't prune build while in use"}"#
        server.on("POST", "/api/v1/build/4/purge", .json(error, status: 400))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try Self.client([
            "--token", "t", "--output", outputFile, "purge", server.baseURL + "/api/v1/build/4",
        ])

        #expect(outcome.status == 0)
        #expect(outcome.stdout == "Purging build \(server.baseURL)/api/v1/build/4\n")
        let result = try ClientRun.output(outputFile)["result"] as? [String: Any]
        #expect(result?.isEmpty == true)
    }

    @Test func aPublishThatStartsAJobWithoutWaitingReturnsTheQueuedJob() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        server.on(
            "POST", "/api/v1/build/42/publish",
            .json(ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/publish"]))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try Self.client(["--token", "t", "--output", outputFile, "publish", build])

        #expect(outcome.status == 0)
        #expect(outcome.stdout == "Publishing build \(build)\n")
        #expect(server.requests.count == 1)
        let result = try #require(ClientRun.output(outputFile)["result"] as? [String: Any])
        #expect(result["status"] as? Int == 0)
        #expect(result["location"] as? String == build + "/publish")
    }

    @Test func publishSendsAnEmptyObjectAndAllowDowngradeOnlyWhenAsked() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let build = server.baseURL + "/api/v1/build/42"
        let started = FakeServer.Response.json(
            ClientRun.job(status: 0, log: ""), headers: ["Location": build + "/publish"])
        server.on("POST", "/api/v1/build/42/publish", started, started)

        let plain = try Self.client(["--token", "t", "publish", build])
        let allowing = try Self.client(["--token", "t", "publish", "--allow-downgrade", build])

        #expect(plain.status == 0)
        #expect(allowing.status == 0)
        let bodies = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies == ["{}", #"{"allow-downgrade":true}"#])
    }

    /// Runs `prune` against a server that fails once with 500, with the given log flags.
    static func pruneRetryingOnce(_ flags: [String]) throws -> (BinarySupport.Outcome, String) {
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/prune", .json(#"{"status":500}"#, status: 500), .json("{}"))
        return (try client(["--token", "t"] + flags + ["prune", server.baseURL, "stable"]), server.baseURL)
    }

    @Test func verboseAndDebugLogToStderrOnly() throws {
        let (quiet, _) = try Self.pruneRetryingOnce([])
        let (verbose, _) = try Self.pruneRetryingOnce(["-v"])
        let (debug, baseURL) = try Self.pruneRetryingOnce(["--debug"])

        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty)
        #expect(verbose.stderr.contains("INFO: Retrying in "))
        #expect(!verbose.stderr.contains("DEBUG: "))
        #expect(debug.stderr.contains("DEBUG: POST \(baseURL)/api/v1/prune"))
        #expect(verbose.stdout.isEmpty && debug.stdout.isEmpty)
    }
}
