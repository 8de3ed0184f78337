import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Operations (issue #6): metrics, logs, `--check-config`, the OpenAPI document and the status pages, against the
/// real server. SQLite only: none of this depends on the database, and each case runs a whole publish.
@Suite("Operations", .enabled(if: TestEnvironment.hasOSTree))
struct OpsTests {
    @Test("after a push, commit and publish, /metrics shows the uploads and jobs that happened")
    func metricsCountWhatHappened() async throws {
        // Arrange
        try await withTestServer(database: .sqlite) { server in
            // One update-repo job for the publish (upstream's order), so the counts below are final when it ends.
            try await server.reconfigure(stableRepo: #"{"installable-first": false}"#)
            let client = try Client(token: server.adminToken)
            let fixture = try await FixtureRepo.shared.repository(version: "1")

            // Act
            let buildURL = try await client.createBuild(managerURL: server.managerURL)
            try await client.check(["push", buildURL, fixture.path])
            let id = try #require(buildURL.split(separator: "/").last.map(String.init))
            let objects = Self.storedFiles(under: server.buildRepoBase.appending(path: "\(id)/upload").path)
            try await client.check(["commit", "--wait", buildURL])
            try await client.check(["publish", "--wait", "--wait-update", buildURL])
            let response = try await HTTP.request("GET", server.url("/metrics"))
            let text = response.text

            // Assert
            #expect(response.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(text.hasSuffix("# EOF\n"))
            let jobs = "flat_manager_jobs_total_total"
            #expect(Ops.sample(text, "\(jobs){kind=\"commit\",status=\"ended\",repo=\"global\"}") == 1)
            #expect(Ops.sample(text, "\(jobs){kind=\"publish\",status=\"ended\",repo=\"stable\"}") == 1)
            #expect(Ops.sample(text, "\(jobs){kind=\"update_repo\",status=\"ended\",repo=\"stable\"}") == 1)
            #expect(
                Ops.sample(
                    text, "flat_manager_job_duration_seconds_count{kind=\"commit\",status=\"ended\",repo=\"global\"}")
                    == 1)
            #expect(Ops.sample(text, "flat_manager_jobs_in_progress{kind=\"commit\",repo=\"global\"}") == 0)
            let queued = text.split(separator: "\n").filter { $0.hasPrefix("flat_manager_jobs_queued{") }
            #expect(queued.allSatisfy { $0.hasSuffix(" 0") }, "every job was picked: \(queued)")
            #expect(objects > 0)
            #expect(Ops.sample(text, "flat_manager_upload_objects_total") == Double(objects))
            #expect(Ops.sample(text, "flat_manager_upload_rejected_total") == nil)
            #expect((Ops.sample(text, "flat_manager_missing_objects_calls_total") ?? 0) >= 1)
            #expect(
                Ops.sample(
                    text, "flat_manager_http_requests_total{method=\"POST\",route=\"/api/v1/build\",status=\"200\"}")
                    == 1)
        }
    }

    @Test("with JSON logs every line parses, and every line of a request or job carries its ids")
    func jsonLogLinesCarryRequestAndJobIDs() async throws {
        // Arrange
        try await withTestServer(database: .sqlite, environment: ["FLAT_MANAGER_LOG_FORMAT": "json"]) { server in
            let client = try Client(token: server.adminToken)

            // Act
            try await publish(version: "1", to: server, with: client)
            let missing = try await HTTP.request("GET", server.url("/status/999999"))
            await server.stop()
            let lines = ProcessRunner.readText(server.directory.appending("server-1.stderr"))
                .split(separator: "\n").map(String.init)
            let records = lines.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }

            // Assert
            #expect(missing.headers["x-request-id"] != nil)
            #expect(!lines.isEmpty)
            #expect(records.count == lines.count, "lines that are not JSON objects")
            let metadata = records.map { $0["metadata"] as? [String: Any] ?? [:] }
            let messages = records.map { $0["message"] as? String ?? "" }
            let accessLines = zip(messages, metadata).filter { $0.0.contains(" HTTP/1.1\" ") }
            #expect(!accessLines.isEmpty)
            #expect(accessLines.allSatisfy { ($0.1["request_id"] as? String)?.isEmpty == false })
            let requestIDs = Set(accessLines.compactMap { $0.1["request_id"] as? String })
            #expect(requestIDs.count == accessLines.count, "request ids are unique")
            let missingLine = accessLines.first { $0.0.contains("GET /status/999999 ") }
            #expect(missingLine?.1["request_id"] as? String == missing.headers["x-request-id"])
            let jobLines = zip(messages, metadata).filter { $0.0.hasPrefix("#") }
            #expect(!jobLines.isEmpty)
            #expect(jobLines.allSatisfy { $0.1["job_id"] != nil })
            #expect(jobLines.contains { $0.1["build_id"] as? String == "1" })
        }
    }

    @Test("--check-config accepts the test config and names the key of a broken one")
    func checkConfigNamesTheBrokenKey() async throws {
        // Arrange
        let server = try await TestServer(database: .sqlite)
        await server.stop()
        let binary = try Binaries.url(of: Binaries.server, in: try Binaries.directory())
        let broken = server.directory.appending("broken.json")
        var json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: server.configPath)) as? [String: Any])
        json["repos"] = ["stable": ["path": "/nonexistent/repo", "subsets": [String: Any]()]]
        try JSONSerialization.data(withJSONObject: json).write(to: broken)
        let unknownKey = server.directory.appending("unknown.json")
        json["colour"] = "blue"
        try JSONSerialization.data(withJSONObject: json).write(to: unknownKey)

        // Act
        let good = try await Self.checkConfig(binary, server.configPath, in: server.directory.url)
        let bad = try await Self.checkConfig(binary, broken, in: server.directory.url)
        let unknown = try await Self.checkConfig(binary, unknownKey, in: server.directory.url)

        // Assert
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.hasPrefix("OK "))
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("key 'repos.stable.path'"))
        #expect(bad.stdout.contains(broken.path))
        #expect(unknown.status == 1)
        #expect(unknown.stdout.contains("colour"))
    }

    @Test("real responses of the running server conform to docs/openapi.yaml, which the server serves")
    func responsesConformToTheOpenAPIDocument() async throws {
        // Arrange
        try await withTestServer(database: .sqlite) { server in
            let client = try Client(token: server.adminToken)
            let buildURL = try await publish(version: "1", to: server, with: client)
            let id = try #require(buildURL.split(separator: "/").last.map(String.init))
            let recorder = Ops.Recorder(server: server, token: server.adminToken)
            let document = try await HTTP.request("GET", server.url("/openapi.yaml"))
            let directory = try TempDirectory(prefix: "flat-manager-openapi-doc")
            let documentFile = directory.appending("openapi.yaml")
            try document.body.write(to: documentFile)

            // Act
            try await recorder.call("GET", "/build/\(id)")
            try await recorder.call("GET", "/build/\(id)/extended")
            try await recorder.call("GET", "/build?app-id=\(FixtureRepo.appID)")
            let created = try await recorder.call("POST", "/build", json: #"{"repo":"stable"}"#)
            let newID = try JSONDecoder().decode(Build.self, from: created.body).id
            try await recorder.call(
                "POST", "/build/\(newID)/build_ref",
                json:
                    #"{"ref":"app/\#(FixtureRepo.appID)/x86_64/stable","commit":"\#(String(repeating: "a", count: 64))"}"#
            )
            try await recorder.call("GET", "/build/\(newID)/build_ref/1")
            try await recorder.call(
                "GET", "/build/\(newID)/missing_objects",
                json: #"{"wanted":["\#(String(repeating: "b", count: 64)).dirtree"]}"#)
            try await recorder.call("POST", "/build/\(newID)/add_extra_ids", json: #"{"ids":["Extra"]}"#)
            try await recorder.call("GET", "/build/\(id)/commit")
            try await recorder.call("GET", "/build/\(id)/publish", json: #"{"log-offset":5}"#)
            try await recorder.call("GET", "/job/1")
            try await recorder.call(
                "POST", "/token_subset", json: #"{"sub":"build","scope":["build"],"duration":60,"name":"sub"}"#)
            try await recorder.call("POST", "/tokens/get_list", json: #"{"token_ids":["nope"]}"#)
            try await recorder.call("GET", "/build/999999")
            try await recorder.call("POST", "/build", json: #"{"repo":"nosuchrepo"}"#)
            try await recorder.call("POST", "/build/\(id)/commit", json: "{}")
            try await recorder.call("GET", "/build/\(id)", token: "not-a-token")
            try await recorder.call("POST", "/build/\(newID)/purge")
            let result = try await Ops.checkConformance(document: documentFile, exchanges: recorder.exchanges)

            // Assert
            #expect(document.status == 200)
            #expect(document.text.hasPrefix("openapi: 3.1.0"))
            #expect(
                recorder.exchanges.contains { $0.status == 200 } && recorder.exchanges.contains { $0.status >= 400 })
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
    }

    @Test("the job page in headless Chromium follows the log live, and the dashboard links build and jobs")
    func statusPagesInABrowser() async throws {
        // Arrange: a flatpak wrapper holds the commit job inside build-commit-from until the test releases it.
        let gate = try GatedFlatpak()
        try await withTestServer(database: .sqlite, extraPath: [gate.directory.url]) { server in
            let client = try Client(token: server.adminToken)
            let buildURL = try await Management.pushedBuild(version: "1", server: server, client: client)
            let commit = try await HTTP.postJSON(
                try url(buildURL + "/commit"), CommitRequest(), token: server.adminToken)
            let job = try JSONDecoder().decode(Job.self, from: commit.body)
            try await gate.waitUntilStarted()

            // Act
            let page = try await Ops.followLiveLog(server.url("/status/\(job.id)"), release: gate.release)
            let finished = try await get(Job.self, buildURL + "/commit", token: server.adminToken)
            let dashboard = try await HTTP.request("GET", server.url("/status"))
            let buildPage = try await HTTP.request("GET", server.url("/status/build/1"))

            // Assert
            #expect(page.before.status == "Started")
            #expect(page.after.status == "Ended")
            #expect(page.after.log.hasPrefix(page.before.log))
            #expect(page.after.log.count > page.before.log.count)
            #expect(page.after.log == finished.log)
            #expect(dashboard.text.contains("<a href=\"/status/build/1\">1</a>"))
            #expect(dashboard.text.contains("<a href=\"/status/\(job.id)\">\(job.id)</a>"))
            #expect(buildPage.text.contains("<a href=\"/status/\(job.id)\">\(job.id)</a>"))
            #expect(!dashboard.text.contains(server.adminToken) && !buildPage.text.contains(server.adminToken))
        }
    }

    /// The objects and delta parts a build's upload area (an ostree repo) holds: what the pushes stored.
    static func storedFiles(under directory: String) -> Int {
        let walker = FileManager.default.enumerator(atPath: directory)
        var count = 0
        while let entry = walker?.nextObject() as? String {
            let attributes = walker?.fileAttributes
            let stored = entry.hasPrefix("objects/") || (entry.hasPrefix("deltas/") && !entry.contains(".tmp/"))
            if stored, attributes?[.type] as? FileAttributeType == .typeRegular { count += 1 }
        }
        return count
    }

    /// Runs `flat-manager --check-config` on a config file.
    static func checkConfig(_ binary: URL, _ config: URL, in directory: URL) async throws -> ProcessResult {
        var environment = TestServer.serverEnvironment(extraPath: [], additions: [:])
        environment["REPO_CONFIG"] = config.path
        return try await ProcessRunner.run(
            binary, ["--check-config"], environment: environment, currentDirectory: directory)
    }
}
