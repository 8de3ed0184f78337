import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The arithmetic traps of issue #10, one request each, against the real server process: before the fix each of
/// these ended the process with `Illegal instruction`; now each is answered and the server keeps serving.
@Suite("No trap reachable from input", .enabled(if: TestEnvironment.hasOSTree))
struct TrapTests {
    @Test(
        "token_subset with a duration of Int64.max is refused with 403 and the server keeps serving",
        arguments: TestEnvironment.databases)
    func tokenSubsetWithHugeDurationIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let body = #"{"sub":"build","scope":[],"duration":9223372036854775807,"name":"x"}"#

            // Act
            let answer = try RawRequest.send(
                port: server.port, "POST", "/api/v1/token_subset", token: server.adminToken, body: Data(body.utf8))

            // Assert
            #expect(answer.status == 403, "\(answer.body)")
            #expect(answer.body.contains("No token presented"), "\(answer.body)")
        }
    }

    @Test(
        "token_subset durations beyond Int64 are a 400 and Int64.min mints a token expiring now",
        arguments: TestEnvironment.databases)
    func tokenSubsetDurationsAtTheEdges(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            for (duration, expected) in [("9223372036854775808", 400), ("1e300", 400), ("-9223372036854775808", 200)] {
                // Arrange
                let body = #"{"sub":"build","scope":[],"duration":\#(duration),"name":"x"}"#

                // Act
                let answer = try RawRequest.send(
                    port: server.port, "POST", "/api/v1/token_subset", token: server.adminToken, body: Data(body.utf8))

                // Assert
                #expect(answer.status == expected, "duration \(duration): \(answer.body)")
            }
        }
    }

    @Test(
        "a token whose exp is far in the future is accepted and its stored expiry is clamped to year 9999",
        arguments: TestEnvironment.databases, ["10000000000000", "1e13", "9223372036854775807", "253402300800"])
    func farFutureExpiryIsAccepted(database: DatabaseKind, exp: String) async throws {
        try await withServer(database) { server in
            // Arrange
            let jti = "far-future-\(UUID().uuidString)"
            let token = try Self.sign(#"{"sub":"build","exp":\#(exp),"jti":"\#(jti)","scope":["build"],"repos":[""]}"#)
            let manager = try Management.token(sub: "", scope: ["tokenmanagement"])

            // Act
            let answer = try RawRequest.send(port: server.port, "GET", "/api/v1/build", token: token)
            let usage = try RawRequest.send(
                port: server.port, "POST", "/api/v1/tokens/get_list", token: manager,
                body: Data(#"{"token_ids":["\#(jti)"]}"#.utf8))

            // Assert
            #expect(answer.status == 200, "\(answer.body)")
            #expect(usage.status == 200, "\(usage.body)")
            #expect(usage.body.contains(#""expires":"9999-12-31T23:59:59""#), "\(usage.body)")
        }
    }

    @Test(
        "a token with a negative exp is refused as expired with 401",
        arguments: TestEnvironment.databases, ["-1", "-9223372036854775808", "-62135596801"])
    func negativeExpiryIsExpired(database: DatabaseKind, exp: String) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try Self.sign(#"{"sub":"build","exp":\#(exp),"jti":"negative","scope":["build"],"repos":[""]}"#)

            // Act
            let answer = try RawRequest.send(port: server.port, "GET", "/api/v1/build", token: token)

            // Assert
            #expect(answer.status == 401, "\(answer.body)")
            #expect(answer.body.contains("Token is expired"), "\(answer.body)")
        }
    }

    @Test(
        "a token whose exp is not an Int64 is refused with 401 Invalid token claims",
        arguments: TestEnvironment.databases,
        ["9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e300", "1.5", "\"1e13\"", "null"])
    func expiryOutsideInt64IsInvalid(database: DatabaseKind, exp: String) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try Self.sign(#"{"sub":"build","exp":\#(exp),"jti":"bad-exp","scope":["build"],"repos":[""]}"#)

            // Act
            let answer = try RawRequest.send(port: server.port, "GET", "/api/v1/build", token: token)

            // Assert
            #expect(answer.status == 401, "\(answer.body)")
            #expect(answer.body.contains("Invalid token claims"), "\(answer.body)")
        }
    }

    @Test(
        "a token whose jti holds a NUL or is longer than 1 KiB is refused with 401, not a database error",
        arguments: TestEnvironment.databases)
    func untrackableJTIIsInvalid(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            for jti in [#"a\u0000b"#, String(repeating: "j", count: 3_000)] {
                // Arrange
                let token = try Self.sign(
                    #"{"sub":"build","exp":4102444800,"jti":"\#(jti)","scope":["build"],"repos":[""]}"#)

                // Act
                let answer = try RawRequest.send(port: server.port, "GET", "/api/v1/build", token: token)

                // Assert
                #expect(answer.status == 401, "\(answer.body)")
            }
        }
    }

    @Test(
        "extreme log offsets in the body and the query get 200 or a plain 400, never a crash",
        arguments: TestEnvironment.databases)
    func extremeLogOffsets(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let (buildID, jobID) = try await Self.committedBuild(on: server)
            let bodies = [
                ("9223372036854775807", 200), ("-1", 400), ("-9223372036854775808", 400),
                ("9223372036854775808", 400), ("18446744073709551616", 400), ("1e308", 400), ("0.5", 400),
            ]
            let queries = ["9223372036854775807", "-9223372036854775808", "99999999999999999999", "-1", "1e3"]

            for path in ["/api/v1/job/\(jobID)", "/api/v1/build/\(buildID)/commit"] {
                for (offset, expected) in bodies {
                    // Act
                    let answer = try RawRequest.send(
                        port: server.port, "GET", path, token: server.adminToken,
                        body: Data(#"{"log-offset":\#(offset)}"#.utf8))

                    // Assert
                    #expect(answer.status == expected, "\(path) log-offset \(offset): \(answer.body)")
                }
                for offset in queries {
                    // Act
                    let answer = try RawRequest.send(
                        port: server.port, "GET", "\(path)?log-offset=\(offset)", token: server.adminToken)

                    // Assert
                    #expect(answer.status == 200, "\(path)?log-offset=\(offset): \(answer.body)")
                }
            }
        }
    }

    @Test("ids beyond Int32 or malformed in every id position are a 404", arguments: TestEnvironment.databases)
    func extremeIDsAreNotFound(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let (buildID, _) = try await Self.committedBuild(on: server)
            let ids = [
                "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
                "99999999999999999999999999", "2147483647", "-2147483648", "-1", "0", "1e3", "0x10", "%00",
            ]

            for id in ids {
                let paths = [
                    ("GET", "/api/v1/build/\(id)"), ("GET", "/api/v1/build/\(id)/extended"),
                    ("GET", "/api/v1/job/\(id)"), ("POST", "/api/v1/job/\(id)/check/review"),
                    ("GET", "/api/v1/build/\(buildID)/build_ref/\(id)"), ("POST", "/api/v1/build/\(id)/commit"),
                    ("GET", "/build-repo/\(id)/config"),
                ]
                for (method, path) in paths {
                    // Act
                    let answer = try RawRequest.send(
                        port: server.port, method, path, token: server.adminToken,
                        body: method == "POST" ? Data(#"{"new-status":{"status":"Passed"}}"#.utf8) : nil)

                    // Assert
                    #expect(answer.status == 404, "\(method) \(path): \(answer.body)")
                }
            }
        }
    }

    @Test(
        "NUL characters in JSON strings and in the app-id query are a 400, never a database error",
        arguments: TestEnvironment.databases)
    func nulCharactersAreRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let manager = try Management.token(sub: "", scope: ["tokenmanagement"])
            let requests = [
                ("POST", "/api/v1/build", server.adminToken, #"{"repo":"stable","build-log-url":"a\u0000b"}"#),
                ("POST", "/api/v1/tokens/revoke", manager, #"{"token_ids":["\u0000"]}"#),
                ("GET", "/api/v1/build?app-id=org.test%00Hello", server.adminToken, nil),
            ]

            for (method, path, token, body) in requests {
                // Act
                let answer = try RawRequest.send(
                    port: server.port, method, path, token: token, body: body.map { Data($0.utf8) })

                // Assert
                #expect(answer.status == 400, "\(method) \(path): \(answer.body)")
            }
        }
    }

    @Test("conditional and range headers with out-of-range numbers are served, not a crash")
    func extremeDateAndRangeHeaders() async throws {
        try await withServer(.sqlite) { server in
            // Arrange
            let headers = [
                ["If-Modified-Since": "Sun, 06 Nov 9223372036854775807 08:49:37 GMT"],
                ["If-Unmodified-Since": "Sun, 06 Nov 9223372036854775807 08:49:37 GMT"],
                ["If-Modified-Since": "Sun Nov  6 08:49:37 9223372036854775807"],
                ["If-Modified-Since": "Sunday, 9223372036854775807-Nov-94 08:49:37 GMT"],
                ["Range": "bytes=0-1", "If-Range": "Sun, 06 Nov 9223372036854775807 08:49:37 GMT"],
                ["Range": "bytes=-9223372036854775807"], ["Range": "bytes=0-9223372036854775807"],
                ["Range": "bytes=9223372036854775807-"], ["Range": "bytes=-9223372036854775808"],
                ["Range": "bytes=9223372036854775806-9223372036854775807"],
            ]

            for header in headers {
                // Act
                let answer = try RawRequest.send(
                    port: server.port, "GET", "/repo/stable/config", token: nil, headers: header)

                // Assert
                #expect([200, 206, 412, 416].contains(answer.status), "\(header): \(answer.status) \(answer.body)")
            }
        }
    }

    // MARK: - Helpers

    /// A token with exactly this payload JSON, signed with the test server's secret (claims Core's `Claims` cannot
    /// hold, such as an `exp` outside Int64).
    static func sign(_ payloadJSON: String) throws -> String {
        let signer = try #require(TokenSigner(base64Secret: TestServer.base64Secret))
        return signer.sign(payloadJSON: payloadJSON)
    }

    /// A build whose commit was started (the build has no refs, so the job ends quickly); its id and the job's.
    static func committedBuild(on server: TestServer) async throws -> (build: Int32, job: Int32) {
        let created = try await HTTP.postJSON(
            server.url("/api/v1/build"), CreateBuildRequest(repo: "stable"), token: server.adminToken)
        let build = try JSONDecoder().decode(Build.self, from: created.body)
        let committed = try await HTTP.postJSON(
            server.url("/api/v1/build/\(build.id)/commit"), CommitRequest(), token: server.adminToken)
        let job = try JSONDecoder().decode(Job.self, from: committed.body)
        return (build.id, job.id)
    }
}
