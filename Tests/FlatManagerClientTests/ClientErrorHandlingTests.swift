import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// `flat-manager-client` against a scripted server that fails: API errors, retries, following a job and the
/// tunables of both (client.md Part A).
@Suite("flat-manager-client errors, retries and job following", .enabled(if: BinarySupport.hasClient))
struct ClientErrorHandlingTests {
    @Test func anAPIErrorIsReportedOnStderrAndInTheOutput() throws {
        let server = try FakeServer()
        defer { server.stop() }
        let error = #"{"status":403,"error-type":"token-insufficient","message":"Not enough permissions"}"#
        server.on("POST", "/api/v1/build", .json(error, status: 403))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client(["--token", "t", "--output", outputFile, "create", server.baseURL, "stable"])

        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.hasPrefix(
                "Api call to \(server.baseURL)/api/v1/build failed with status 403, details: {'error-type': 'token-insufficient', 'message': 'Not enough permissions', 'status': 403}"
            ))
        let output = try ClientRun.output(outputFile)
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
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client(["--token", "t", "--output", outputFile, "create", server.baseURL, "stable"])

        #expect(outcome.status == 1)
        let details = try #require(
            (try ClientRun.output(outputFile)["error"] as? [String: Any])?["details"] as? [String: Any])
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

        let outcome = try ClientRun.client(["--token", "t", "create", server.baseURL, "stable"])

        #expect(outcome.status == 0)
        #expect(server.requests.count == 2)
    }

    @Test func followJobFramesTheLogAndCountsBytes() throws {
        let server = try FakeServer()
        defer { server.stop() }
        server.on(
            "GET", "/api/v1/job/7", .json(ClientRun.job(status: 1, log: "Löading\nrunning build-updat")),
            .json(ClientRun.job(status: 1, log: "")), .json(ClientRun.job(status: 2, log: "e-repo\n")))

        let outcome = try ClientRun.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"])

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
        server.on("GET", "/api/v1/job/9", .json(queued), .json(queued), .json(ClientRun.job(status: 2, log: "")))

        let outcome = try ClientRun.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/9"])

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
        server.on("GET", "/api/v1/job/9", .json(queued), .json(ClientRun.job(status: 2, log: "")))

        // Act
        let outcome = try ClientRun.client(["--token", "t", "follow-job", server.baseURL + "/api/v1/job/9"])

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
            "POST", "/api/v1/prune", .json(#"{"status":503}"#, status: 503), .json(ClientRun.job(status: 0, log: "")))

        // Act
        let outcome = try ClientRun.client(
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
        server.on(
            "GET", "/api/v1/job/7", .json(ClientRun.job(status: 1, log: "")), .json(ClientRun.job(status: 2, log: "")))

        // Act
        let outcome = try ClientRun.client(
            ["--token", "t", "follow-job", server.baseURL + "/api/v1/job/7"],
            environment: ["FLAT_MANAGER_CLIENT_POLL_SCALE": value])

        // Assert
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }
}
