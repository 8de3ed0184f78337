import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #3, checks and reviews: check hooks run after a commit with their job's variables, gate publishing, and
/// can be reviewed through the API.
@Suite("Management: checks and reviews", .enabled(if: TestEnvironment.hasOSTree))
struct ManagementCheckTests {
    /// Three checks: `lint` fails while `<dir>/lint-fails` exists, `review` (reviewable) always exits 1, and
    /// `env` writes its environment to `<dir>/env-<build id>` and some non-ASCII text to its log.
    static func checkedServer(database: DatabaseKind, scripts: TempDirectory) async throws -> TestServer {
        let lint = try Management.script(
            "lint.sh", in: scripts, "if [ -f \(scripts.path)/lint-fails ]; then echo 'icon missing' >&2; exit 1; fi")
        let review = try Management.script("review.sh", in: scripts, "echo 'needs a human' >&2; exit 1")
        let env = try Management.script(
            "env.sh", in: scripts,
            "env > \(scripts.path)/env-$FLAT_MANAGER_BUILD_ID\necho 'Prüfung läuft ✓ — 検査'\necho done")
        return try await Management.server(
            database: database, environment: ["SERVER_ONLY_SECRET": "secret-value"]
        ) { config in
            try Management.setRepoKey(
                "hooks",
                [
                    "checks": [
                        "lint": ["command": [lint]],
                        "review": ["command": [review], "reviewable": true],
                        "env": ["command": [env]],
                    ]
                ], in: &config)
        }
    }

    @Test(
        "a failing check fails the build and publishing is refused with the upstream error",
        arguments: TestEnvironment.databases)
    func failingCheckRefusesPublish(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-checks")
        try Data().write(to: scripts.appending("lint-fails"))
        let server = try await Self.checkedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(
                version: "1", server: server, client: client, checksMayFail: true)
            let checks = try await Management.settledChecks(server, build: build, count: 3, token: token)
            let reviewJob = try #require(checks["review"]?["job_id"] as? Int)

            // Act
            let whileValidating = try await Management.call(
                server, "POST", "/api/v1/build/\(build)/publish", token: token, json: [:])
            let review = try await Management.call(
                server, "POST", "/api/v1/job/\(reviewJob)/check/review", token: token,
                json: ["new-status": ["status": "Passed"]])
            let failed = try await Management.waitFor(server, "/api/v1/build/\(build)", token: token) {
                $0["repo_state"] as? Int == 3
            }
            let publish = try await Management.call(
                server, "POST", "/api/v1/build/\(build)/publish", token: token, json: [:])

            // Assert
            #expect(checks["lint"]?["status"] as? Int == 3)
            #expect((checks["lint"]?["status_reason"] as? String)?.contains("icon missing") == true)
            #expect(checks["review"]?["status"] as? Int == 4)
            #expect(whileValidating.status == 400)
            #expect(whileValidating.errorBody()?.errorType == "wrong-repo-state")
            #expect(review.status == 204)
            #expect(failed["repo_state_reason"] as? String == "1 out of 3 checks failed (lint)")
            #expect(publish.status == 400)
            let error = try #require(publish.errorBody())
            #expect(error.errorType == "wrong-repo-state")
            #expect(error.message == "Build failed: 1 out of 3 checks failed (lint)")
            #expect(Management.member("current-state", of: publish) == "failed")
        }
        await server.stop()
    }

    @Test(
        "a reviewable check holds the build until a review through the API, then publishing succeeds",
        arguments: TestEnvironment.databases)
    func reviewedCheckAllowsPublish(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-checks")
        let server = try await Self.checkedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let checks = try await Management.settledChecks(server, build: build, count: 3, token: token)
            let reviewJob = try #require(checks["review"]?["job_id"] as? Int)

            // Act
            let before = try await Management.object(server, "GET", "/api/v1/build/\(build)", token: token)
            let review = try await Management.call(
                server, "POST", "/api/v1/job/\(reviewJob)/check/review", token: token,
                json: ["new-status": ["status": "PassedWithWarnings", "reason": "looked at it"], "new-results": "ok"])
            _ = try await Management.waitFor(server, "/api/v1/build/\(build)", token: token) {
                $0["repo_state"] as? Int == 2
            }
            let published = try await Management.publishJob(server, build: build, token: token)
            let after = try await Management.checks(server, build: build, token: token)

            // Assert
            #expect(checks["review"]?["status"] as? Int == 4)
            #expect(before["repo_state"] as? Int == 6)
            #expect(review.status == 204)
            #expect(published["status"] as? Int == 2, "\(published)")
            #expect(after["review"]?["status"] as? Int == 2)
            #expect(after["review"]?["results"] as? String == "ok")
        }
        await server.stop()
    }

    @Test(
        "a check runs with its build and job ids and the server's environment, its output in the job log",
        arguments: TestEnvironment.databases)
    func checkEnvironmentAndLog(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-checks")
        let server = try await Self.checkedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let checks = try await Management.settledChecks(server, build: build, count: 3, token: token)
            let jobID = try #require(checks["env"]?["job_id"] as? Int)
            _ = try await Management.finishedJob(server, id: jobID, token: token)

            // Act
            let job = try await Management.object(
                server, "GET", "/api/v1/build/\(build)/check/env/job", token: token)
            let environment = try String(contentsOf: scripts.appending("env-\(build)"), encoding: .utf8)
            let variables = Dictionary(
                environment.split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in
                    guard let equals = line.firstIndex(of: "=") else { return nil }
                    return (String(line[..<equals]), String(line[line.index(after: equals)...]))
                }, uniquingKeysWith: { first, _ in first })

            // Assert
            #expect(job["id"] as? Int == jobID)
            #expect(variables["FLAT_MANAGER_BUILD_ID"] == "\(build)")
            #expect(variables["FLAT_MANAGER_JOB_ID"] == "\(jobID)")
            #expect(variables["PATH"] != nil)
            // Hooks see the server's environment, as upstream's do (issue #12; `hook-environment` narrows it).
            #expect(variables["SERVER_ONLY_SECRET"] == "secret-value", "\(variables)")
            #expect(job["status"] as? Int == 2)
            #expect((job["log"] as? String)?.contains("Prüfung läuft ✓ — 検査") == true, "\(job)")
        }
        await server.stop()
    }

    @Test(
        "following a log with non-ASCII output by byte offsets gives back the whole log",
        arguments: TestEnvironment.databases)
    func nonASCIILogFollowsByBytes(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-checks")
        let server = try await Self.checkedServer(database: database, scripts: scripts)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let checks = try await Management.settledChecks(server, build: build, count: 3, token: token)
            _ = try await Management.finishedJob(
                server, id: try #require(checks["env"]?["job_id"] as? Int), token: token)
            let path = "/api/v1/build/\(build)/check/env/job"
            let whole = try #require(try await Management.object(server, "GET", path, token: token)["log"] as? String)
            let bytes = Array(whole.utf8)
            let first = try #require(bytes.firstIndex { $0 >= 0x80 }, "the log has non-ASCII text: \(whole)")

            // Act: every byte offset from just before the first non-ASCII character to the end, as a client
            // counting bytes (Rust) or one that got out of step (Python counts characters) may send.
            var pieces: [Int: [UInt8]] = [:]
            for offset in (first - 1)...bytes.count {
                let job = try await Management.object(server, "GET", "\(path)?log-offset=\(offset)", token: token)
                pieces[offset] = Array((job["log"] as? String ?? "").utf8)
            }

            // Assert: the answer starts at the first character boundary at or after the offset.
            for offset in (first - 1)...bytes.count {
                var boundary = offset
                while boundary < bytes.count, bytes[boundary] & 0xC0 == 0x80 { boundary += 1 }
                #expect(pieces[offset] == Array(bytes[boundary...]), "log-offset \(offset)")
            }
            #expect(whole.contains("done\n"))
        }
        await server.stop()
    }
    /// A check script that reviews its own check through the API (URL and token read from files the test writes
    /// once the server runs), then exits with `exitStatus`.
    static func selfReviewing(_ name: String, status: String, exitStatus: Int, scripts: TempDirectory) throws -> String
    {
        try Management.script(
            "\(name).sh", in: scripts,
            """
            url=$(cat \(scripts.path)/url); token=$(cat \(scripts.path)/token)
            /bin/busybox wget -q -O - --header "Authorization: Bearer $token" \\
                --header 'Content-Type: application/json' \\
                --post-data '{"new-status": {"status": "\(status)", "reason": "self-reviewed"}}' \\
                "$url/api/v1/job/$FLAT_MANAGER_JOB_ID/check/review" || exit 9
            exit \(exitStatus)
            """)
    }

    @Test(
        "a status a check sets through the review API survives a zero exit, and a failing exit overrides it",
        arguments: TestEnvironment.databases)
    func exitStatusOverridesOwnReview(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-checks")
        let keeps = try Self.selfReviewing("keeps", status: "PassedWithWarnings", exitStatus: 0, scripts: scripts)
        let overridden = try Self.selfReviewing("overridden", status: "Passed", exitStatus: 1, scripts: scripts)
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey(
                "hooks", ["checks": ["keeps": ["command": [keeps]], "overridden": ["command": [overridden]]]],
                in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            try Data(server.managerURL.utf8).write(to: scripts.appending("url"))
            try Data(token.utf8).write(to: scripts.appending("token"))
            let client = try Client(token: token)

            // Act
            let build = try await Management.committedBuild(
                version: "1", server: server, client: client, checksMayFail: true)
            let failed = try await Management.waitFor(server, "/api/v1/build/\(build)", token: token) {
                $0["repo_state"] as? Int == 3
            }
            let checks = try await Management.checks(server, build: build, token: token)

            // Assert
            #expect(checks["keeps"]?["status"] as? Int == 2, "\(checks)")
            #expect(checks["keeps"]?["status_reason"] as? String == "self-reviewed")
            #expect(checks["overridden"]?["status"] as? Int == 3, "\(checks)")
            #expect((checks["overridden"]?["status_reason"] as? String)?.contains("exited unsuccessfully") == true)
            #expect(failed["repo_state_reason"] as? String == "1 out of 2 checks failed (overridden)")
        }
        await server.stop()
    }
}
