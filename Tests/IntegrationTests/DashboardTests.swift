import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The dashboard over HTTP (issue #16): the build list's filters and pages, job and build times, the queue and the
/// repo pages, and the refusal of bad filter values.
@Suite("Dashboard pages", .enabled(if: TestEnvironment.hasOSTree))
struct DashboardTests {
    @Test(
        "the build list filters by app prefix, repo, state and date, newest first, 25 to a page",
        arguments: TestEnvironment.databases)
    func filtersAndPages(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange: 27 public org.example builds, then one of another app, a private one and a failed one.
            var example: [Int] = []
            for _ in 0..<27 { example.append(try await Self.createBuild(on: server, app: "org.example.App")) }
            let other = try await Self.createBuild(on: server, app: "org.other.Tool")
            let secret = try await Self.createBuild(on: server, app: "org.example.Secret", publicDownload: false)
            let failed = try await Self.failedBuild(on: server, app: "org.example.Broken")
            example.append(failed)
            let newestFirst = Array(example.reversed())
            let (yesterday, today, tomorrow) = Self.days()

            // Act
            let page1 = try await Self.page(server, "/status?app=org.example")
            let page2 = try await Self.page(server, "/status?app=org.example&page=2")
            let withToken = try await Self.page(server, "/status?app=org.example.Sec", token: server.adminToken)
            let anonymousSecret = try await Self.page(server, "/status?app=org.example.Sec")
            let failedOnly = try await Self.page(server, "/status?state=failed")
            let stable = try await Self.page(server, "/status?repo=stable&app=")
            let beta = try await Self.page(server, "/status?repo=beta")
            let future = try await Self.page(server, "/status?since=\(tomorrow)")
            let past = try await Self.page(server, "/status?until=\(yesterday)")
            let todayOnly = try await Self.page(server, "/status?since=\(today)&until=\(today)&app=org.other")

            // Assert
            #expect(Self.listedBuilds(page1.text) == Array(newestFirst.prefix(25)))
            #expect(page1.text.contains(#"href="/status?app=org.example&amp;page=2""#), "\(page1.text)")
            #expect(!page1.text.contains("rel=\"prev\""))
            #expect(Self.listedBuilds(page2.text) == Array(newestFirst.dropFirst(25)))
            #expect(page2.text.contains(#"rel="prev" id="previous-page" href="/status?app=org.example""#))
            #expect(!page2.text.contains("rel=\"next\""))
            #expect(!Self.listedBuilds(page1.text + page2.text).contains(other))
            #expect(!Self.listedBuilds(page1.text + page2.text).contains(secret), "private builds: not filtered")
            #expect(Self.listedBuilds(withToken.text) == [secret])
            #expect(Self.listedBuilds(anonymousSecret.text).isEmpty)
            #expect(Self.listedBuilds(failedOnly.text) == [failed])
            #expect(Self.listedBuilds(stable.text).count == 25)
            #expect(Self.listedBuilds(beta.text).isEmpty && beta.text.contains("No builds."))
            #expect(Self.listedBuilds(future.text).isEmpty)
            #expect(Self.listedBuilds(past.text).isEmpty)
            #expect(Self.listedBuilds(todayOnly.text) == [other])
            #expect(page1.text.contains(#"<option value="failed">failed</option>"#))
            #expect(failedOnly.text.contains(#"<option value="failed" selected>failed</option>"#))
        }
    }

    @Test(
        "bad filter values are refused with upstream's error JSON, never a trap",
        arguments: [
            "state=bogus", "since=2026-02-30", "since=yesterday", "until=2026-13-01", "until=2026-12-01T25:00:00",
            "page=0", "page=-1", "page=99999999999999999999", "page=1000001", "page=abc", "app=org.ex%3Cscript%3E",
            "repo=..%2Fetc", "app=%F0%9F%98%80",
        ])
    func badFiltersAreRefused(query: String) async throws {
        try await withServer(.sqlite) { server in
            // Act
            let response = try await HTTP.request("GET", server.url("/status?" + query))

            // Assert
            #expect(response.status == 400, "\(query): \(response.text)")
            #expect(response.errorBody()?.errorType == "generic-error", "\(query): \(response.text)")
        }
    }

    @Test(
        "a published build shows its jobs' times and durations, the repo page its ref, the queue a delayed update",
        arguments: TestEnvironment.databases)
    func timesQueueAndRepo(database: DatabaseKind) async throws {
        // Arrange: update-repo jobs wait an hour, so one stays queued.
        let server = try await Management.server(database: database) { config in
            config["delay-update-secs"] = 3600
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let build = try await Management.committedBuild(
                version: "1", server: server, client: try Client(token: token))
            let publish = try await Management.publishJob(server, build: build, token: token)
            let publishID = try #require(publish["id"] as? Int)
            let update = try #require(try Management.results(publish)["update-repo-job"] as? Int)
            let ref = try await Management.appRef()
            let commit = try #require(try await Management.refs(of: server.repoPath)[ref])

            // Act
            let buildPage = try await Self.page(server, "/status/build/\(build)")
            let jobPage = try await Self.page(server, "/status/\(publishID)")
            let list = try await Self.page(server, "/status?repo=stable")
            let queue = try await Self.page(server, "/status/queue")
            let repo = try await Self.page(server, "/status/repo/stable")
            let missingRepo = try await HTTP.request("GET", server.url("/status/repo/nosuch"))
            let script = try await HTTP.request("GET", server.url("/status/dashboard.js"))
            let style = try await HTTP.request("GET", server.url("/status/dashboard.css"))

            // Assert
            let duration = #"\d+ (ms|s|min \d+ s)"#
            #expect(buildPage.text.firstMatch(of: try Regex(#"id="duration">"# + duration)) != nil, "\(buildPage.text)")
            #expect(buildPage.text.contains(#"<a href="/status/\#(publishID)">\#(publishID)</a></th><td>Publish</td>"#))
            #expect(buildPage.text.components(separatedBy: " UTC</td>").count > 6, "job times: \(buildPage.text)")
            #expect(jobPage.text.contains(#"<th scope="row">Ran</th><td>"#))
            #expect(jobPage.text.firstMatch(of: try Regex(#"Ran</th><td>"# + duration)) != nil, "\(jobPage.text)")
            #expect(list.text.firstMatch(of: try Regex(#"</a></td><td>"# + duration + "</td></tr>")) != nil)
            #expect(queue.text.contains(#"<a href="/status/\#(update)">\#(update)</a>"#), "\(queue.text)")
            #expect(queue.text.contains("the update delay, until"), "\(queue.text)")
            #expect(repo.text.contains("<th scope=\"row\">\(ref)</th>"), "\(repo.text)")
            #expect(repo.text.contains(#"<code title="\#(commit)">\#(commit.prefix(12))</code>"#))
            #expect(
                repo.text.firstMatch(of: try Regex(#"<td>[0-9.]+ (bytes|kB|MB)</td><td>[0-9.]+ (bytes|kB|MB)</td>"#))
                    != nil,
                "sizes: \(repo.text)")
            #expect(missingRepo.status == 404)
            #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            #expect(style.status == 200 && style.headers["content-type"]?.hasPrefix("text/css") == true)
            for page in [buildPage, jobPage, list, queue, repo] {
                let policy = page.headers["content-security-policy"] ?? ""
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "\(policy)")
                #expect(page.text.contains(#"<meta name="viewport""#))
                #expect(page.text.contains(#"<main id="main" data-viewer=""#))
                #expect(!page.text.contains("<script>") && !page.text.contains("<style>"), "inline script or style")
                #expect(!page.text.contains(token))
            }
        }
        await server.stop()
    }

    // MARK: - Helpers

    /// Creates a build through the API; returns its id.
    static func createBuild(on server: TestServer, app: String, publicDownload: Bool = true) async throws -> Int {
        let build = try await Management.object(
            server, "POST", "/api/v1/build", token: server.adminToken,
            json: ["repo": "stable", "app-id": app, "public-download": publicDownload])
        return try #require(build["id"] as? Int)
    }

    /// A build whose commit fails (its ref names a commit nobody uploaded); returns its id once it is failed.
    static func failedBuild(on server: TestServer, app: String) async throws -> Int {
        let id = try await createBuild(on: server, app: app)
        _ = try await Management.object(
            server, "POST", "/api/v1/build/\(id)/build_ref", token: server.adminToken,
            json: ["ref": "app/\(app)/x86_64/stable", "commit": String(repeating: "0f", count: 32)])
        let job = try await Management.object(
            server, "POST", "/api/v1/build/\(id)/commit", token: server.adminToken, json: [:])
        _ = try await Management.finishedJob(server, id: try #require(job["id"] as? Int), token: server.adminToken)
        return id
    }

    /// GETs a status page, requiring a 200.
    static func page(_ server: TestServer, _ path: String, token: String? = nil) async throws -> HTTPResponse {
        let response = try await HTTP.request("GET", server.url(path), token: token)
        #expect(response.status == 200, "\(path): \(response.text)")
        return response
    }

    /// The build ids the list page's builds table shows, in order.
    static func listedBuilds(_ html: String) -> [Int] {
        html.matches(of: #/<th scope="row"><a href="/status/build/(\d+)">/#).compactMap { Int($0.output.1) }
    }

    /// Yesterday, today and tomorrow (UTC) as `YYYY-MM-DD`.
    static func days() -> (String, String, String) {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        let now = Date()
        return (
            formatter.string(from: now.addingTimeInterval(-86_400)), formatter.string(from: now),
            formatter.string(from: now.addingTimeInterval(86_400))
        )
    }
}
