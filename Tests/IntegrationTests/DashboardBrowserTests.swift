import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// The dashboard in headless Chromium against a real server with real builds (issue #16): a reviewer passes a held
/// check by clicking, a wrong token shows the API's error on the page, a purge needs a second click; screenshots of
/// every page go to `.build/test-output/dashboard/`.
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
}
