import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The dashboard in headless Chromium against a real server with real builds (issue #16): a reviewer passes a held
/// check by clicking, a wrong token shows the API's error on the page, a purge needs a second click, a `jobs` token
/// given in the page shows the private builds; screenshots of every page go to `.build/test-output/dashboard/`.
@Suite("Dashboard in a browser", .enabled(if: TestEnvironment.hasOSTree))
struct DashboardBrowserTests {
    @Test(
        "a reviewer passes a held check and purges a failed build from the browser with a token kept in the tab",
        arguments: TestEnvironment.databases)
    func reviewAndPurgeByClicking(database: DatabaseKind) async throws {
        // Arrange: one reviewable check that always asks for a human; a failed build next to the held one.
        let scripts = try TempDirectory(prefix: "flat-manager-dashboard-checks")
        let review = try Management.script("review.sh", in: scripts, "echo 'needs a <b>human</b>' >&2; exit 1")
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey(
                "hooks", ["checks": ["review": ["command": [review], "reviewable": true]]], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let admin = server.adminToken
            let build = try await Management.committedBuild(
                version: "1", server: server, client: try Client(token: admin))
            let checks = try await Management.settledChecks(server, build: build, count: 1, token: admin)
            let reviewJob = try #require(checks["review"]?["job_id"] as? Int)
            let failed = try await DashboardTests.failedBuild(on: server, app: FixtureRepo.appID)
            let reviewer = try Management.token(scope: ["reviewcheck", "build", "republish"], name: "reviewer")
            let wrongToken = "not-a-token"
            let output = try DashboardBrowser.outputDirectory("\(database)")
            print("Dashboard screenshots: \(output.path)")
            let shot = { (name: String) in DashboardBrowser.Step.screenshot(output.appendingPathComponent(name).path) }
            let result = "(document.getElementById('action-result').textContent)"
            let settled = "\(result) !== '' && \(result) !== 'Working...'"

            let heldPage = try await HTTP.request("GET", server.url("/status/build/\(build)"))

            // Act
            let values = try await DashboardBrowser.run([
                .navigate(server.url("/status/build/\(build)").absoluteString),
                .wait("!document.getElementById('pass-\(reviewJob)').closest('.js-only').hidden"),
                shot("build-held.png"),
                .type(selector: "#token", text: wrongToken), .click("#token-set"),
                .wait("document.getElementById('token-state').textContent.indexOf('is set') >= 0"),
                .click("#pass-\(reviewJob)"), .wait(settled),
                .evaluate(name: "wrong", expression: result),
                .evaluate(name: "wrongClass", expression: "document.getElementById('action-result').className"),
                shot("build-wrong-token.png"),
                .type(selector: "#token", text: reviewer), .click("#token-set"),
                .wait("\(result) === 'Token set for this tab.'"),
                .click("#pass-\(reviewJob)"), .wait("\(result).indexOf('Check') === 0"),
                .evaluate(name: "passed", expression: result),
                .evaluate(name: "cell", expression: "document.getElementById('check-status-\(reviewJob)').textContent"),
                .evaluate(name: "stored", expression: "sessionStorage.getItem('flat-manager-token') === '\(reviewer)'"),
                .evaluate(name: "cookie", expression: "document.cookie"),
                shot("build-passed.png"),
                .navigate(server.url("/status/build/\(failed)").absoluteString),
                .wait("!document.getElementById('purge').closest('.js-only').hidden"),
                .click("#purge"),
                .evaluate(name: "armed", expression: "document.getElementById('purge').textContent"),
                shot("build-purge-confirm.png"),
                .click("#purge"), .wait(settled),
                .evaluate(name: "purged", expression: result),
                shot("build-purged.png"),
                .navigate(server.url("/status").absoluteString), shot("builds.png"),
                .navigate(server.url("/status?state=failed").absoluteString), shot("builds-failed.png"),
                .navigate(server.url("/status/\(reviewJob)").absoluteString), shot("job.png"),
                .phone, .navigate(server.url("/status").absoluteString), shot("builds-phone.png"),
                .navigate(server.url("/status/build/\(build)").absoluteString), shot("build-phone.png"),
                .evaluate(
                    name: "phoneOverflow", expression: "document.documentElement.scrollWidth <= window.innerWidth"),
            ])
            let apiAnswer = try await Management.call(
                server, "POST", "/api/v1/job/\(reviewJob)/check/review", token: wrongToken,
                json: ["new-status": ["status": "Passed"]])
            let ready = try await Management.waitFor(server, "/api/v1/build/\(build)", token: admin) {
                $0["repo_state"] as? Int == 2
            }
            let published = try await Management.publishJob(server, build: build, token: admin)
            let purgedBuild = try await Management.object(server, "GET", "/api/v1/build/\(failed)", token: admin)
            let republish = try await DashboardBrowser.run([
                .navigate(server.url("/status/build/\(build)").absoluteString),
                .wait("!document.getElementById('republish').closest('.js-only').hidden"),
                .type(selector: "#token", text: reviewer), .click("#token-set"),
                .wait("\(result) === 'Token set for this tab.'"),
                .click("#republish"), .click("#republish"), .wait("\(result).indexOf('Republish job') === 0"),
                .evaluate(name: "republished", expression: result),
                shot("build-republished.png"),
                .navigate(server.url("/status/queue").absoluteString), shot("queue.png"),
                .navigate(server.url("/status/repo/stable").absoluteString), shot("repo.png"),
            ])
            let republishJob = try #require(
                republish["republished"]?.split(separator: " ").dropFirst(2).first.flatMap { Int($0) })
            let republished = try await Management.finishedJob(server, id: republishJob, token: admin)

            // Assert
            let apiMessage = try #require(apiAnswer.errorBody()?.message)
            #expect(apiAnswer.status == 401)
            #expect(values["wrong"] == apiMessage, "the page shows the API's error: \(values)")
            #expect(values["wrongClass"] == "error")
            #expect(values["passed"] == "Check review: Passed.", "\(values)")
            #expect(values["cell"] == "passed")
            #expect(values["stored"] == "true" && values["cookie"] == "", "token in sessionStorage only: \(values)")
            #expect(ready["repo_state"] as? Int == 2)
            #expect(published["status"] as? Int == 2, "the reviewed build publishes: \(published)")
            #expect(values["armed"]?.contains("Click again to confirm") == true, "\(values)")
            #expect(values["purged"] == "Build \(failed) purged.", "\(values)")
            #expect(purgedBuild["repo_state"] as? Int == 5)
            #expect(heldPage.text.contains("needs a &lt;b&gt;human&lt;/b&gt;"), "hook output is escaped")
            #expect(values["phoneOverflow"] == "true", "the page scrolls sideways on a phone")
            #expect(republished["kind"] as? Int == 3 && republished["status"] as? Int == 2, "\(republished)")
            for name in ["build-held", "build-passed", "builds", "queue", "repo", "job"] {
                let size =
                    try FileManager.default.attributesOfItem(
                        atPath: output.appendingPathComponent(name + ".png").path)[.size] as? Int ?? 0
                #expect(size > 1000, "screenshot \(name).png")
            }
            let log = await server.output()
            #expect(!log.contains(reviewer), "the token reached the server's log")
        }
        await server.stop()
    }

    @Test(
        "private builds appear once a jobs token is given in the page, a wrong token shows the error and nothing private",
        arguments: TestEnvironment.databases)
    func privateBuildsWithTokenInTheTab(database: DatabaseKind) async throws {
        let server = try await Management.server(database: database) { _ in }
        try await withServerOutputOnFailure(server) {
            // Arrange: a public and a private build; a jobs token and one that is not a token at all.
            let visible = try await DashboardTests.createBuild(on: server, app: "org.example.Visible")
            let hidden = try await DashboardTests.createBuild(
                on: server, app: "org.example.Hidden", publicDownload: false)
            let jobsToken = try Management.token(scope: ["jobs"], name: "watcher")
            let wrongToken = "not-a-token"
            let output = try DashboardBrowser.outputDirectory("private-\(database)")
            let shot = { (name: String) in DashboardBrowser.Step.screenshot(output.appendingPathComponent(name).path) }
            let result = "(document.getElementById('action-result').textContent)"
            let main = "document.getElementById('main')"
            let shows = { (text: String) in "(\(main).textContent.indexOf('\(text)') >= 0)" }
            // A filtered list: the default one reloads itself every 5 seconds.
            let list = server.url("/status?repo=stable").absoluteString
            let anonymousHTML = try await HTTP.request("GET", server.url("/status?repo=stable"))
            let tokenHTML = try await HTTP.request("GET", server.url("/status?repo=stable"), token: jobsToken)
            let refused = try await HTTP.request("GET", server.url("/status?repo=stable"), token: wrongToken)

            // Act
            let values = try await DashboardBrowser.run([
                .navigate(list),
                .wait("!document.getElementById('token-form').closest('.js-only').hidden"),
                .evaluate(name: "anonymousPublic", expression: shows("org.example.Visible")),
                .evaluate(name: "anonymousPrivate", expression: shows("org.example.Hidden")),
                .type(selector: "#token", text: wrongToken), .click("#token-set"),
                .wait("document.getElementById('action-result').className === 'error'"),
                .evaluate(name: "wrong", expression: result),
                .evaluate(name: "wrongPrivate", expression: shows("org.example.Hidden")),
                shot("private-wrong-token.png"),
                .type(selector: "#token", text: jobsToken), .click("#token-set"),
                .wait(shows("org.example.Hidden")),
                .evaluate(name: "viewer", expression: "\(main).getAttribute('data-viewer')"),
                .evaluate(
                    name: "listed", expression: shows("org.example.Hidden") + " && " + shows("org.example.Visible")),
                .evaluate(
                    name: "rebound", expression: "!document.getElementById('token-form').closest('.js-only').hidden"),
                shot("private-with-token.png"),
                .navigate(server.url("/status/build/\(hidden)").absoluteString),
                .wait(shows("org.example.Hidden")),
                .evaluate(name: "buildPage", expression: "document.getElementById('private') === null"),
                .evaluate(name: "url", expression: "location.href"),
                .evaluate(name: "cookie", expression: "document.cookie"),
                shot("private-build.png"),
                .click("#token-forget"),
                .wait("\(main).getAttribute('data-viewer') === 'public'"),
                .evaluate(name: "forgotten", expression: shows("org.example.Hidden")),
            ])

            // Assert
            #expect(anonymousHTML.text.contains(#"<main id="main" data-viewer="public">"#))
            #expect(tokenHTML.text.contains(#"<main id="main" data-viewer="jobs">"#))
            #expect(!anonymousHTML.text.contains("org.example.Hidden"))
            let apiMessage = try #require(refused.errorBody()?.message)
            #expect(refused.status == 401)
            #expect(values["anonymousPublic"] == "true", "\(values)")
            #expect(values["anonymousPrivate"] == "false", "no private app id without a token: \(values)")
            #expect(values["wrong"] == apiMessage, "the page shows the API's error: \(values)")
            #expect(values["wrongPrivate"] == "false", "a wrong token shows nothing private: \(values)")
            #expect(values["viewer"] == "jobs" && values["listed"] == "true", "\(values)")
            #expect(values["rebound"] == "true", "the replaced page's script parts are shown again: \(values)")
            #expect(values["buildPage"] == "true", "the private build's page in full on load: \(values)")
            #expect(values["url"]?.contains(jobsToken) == false && values["cookie"] == "", "\(values)")
            #expect(values["forgotten"] == "false", "forgetting the token hides the private build: \(values)")
            #expect(visible != hidden)
            let log = await server.output()
            #expect(!log.contains(jobsToken), "the token reached the server's log")
        }
        await server.stop()
    }
}
