import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #15 part 4, webhooks: signed JSON POSTs for build and repo events, sent from a persistent outbox with
/// retries, visible on `/status/webhooks`, and not lost across a restart.
@Suite("Webhooks", .enabled(if: TestEnvironment.hasOSTree))
struct WebhookTests {
    static let secret = "webhook-test-secret"

    /// A server whose config sends `events` to `receiver`, retrying quickly (100 ms doubling up to 1 s) and never
    /// giving up within a test; `repoKeys` are set on `repos.stable`.
    static func server(
        database: DatabaseKind, receiver: WebhookReceiver, events: [WebhookEvent] = WebhookEvent.allCases,
        repoKeys: [String: Any] = [:]
    ) async throws -> TestServer {
        try await Management.server(database: database) { config in
            config["webhooks"] = [["url": receiver.url, "events": events.map(\.rawValue), "secret": secret]]
            config["webhook-delivery"] = ["retry-base-ms": 100, "retry-max-secs": 1, "max-attempts": 1000]
            // One update-repo job per publish (upstream's order), so each publish sends exactly one repo.updated.
            try Management.setRepoKey("installable-first", false, in: &config)
            for (key, value) in repoKeys { try Management.setRepoKey(key, value, in: &config) }
        }
    }

    /// The deliveries listed on `/status/webhooks` (with the admin token): event, state and attempts of each row.
    static func statusRows(_ server: TestServer) async throws -> [(event: String, state: String, attempts: Int)] {
        let page = try await Management.call(server, "GET", "/status/webhooks", token: server.adminToken)
        #expect(page.status == 200)
        let pattern = #/data-event="([^"]+)" data-state="([a-z]+)" data-attempts="(\d+)"/#
        return page.text.matches(of: pattern).map { match in
            (String(match.output.1), String(match.output.2), Int(match.output.3) ?? -1)
        }
    }

    @Test(
        "a commit and publish send build.committed, build.published and repo.updated, each signed over its exact body",
        arguments: TestEnvironment.databases)
    func commitAndPublishAreDelivered(database: DatabaseKind) async throws {
        // Arrange
        let receiver = try WebhookReceiver()
        let server = try await Self.server(database: database, receiver: receiver)
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let ref = try await Management.appRef()

            // Act
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let published = try await Management.publishJob(server, build: build, token: token)
            try await Management.waitForUpdate(server, after: published, token: token)
            let requests = try await receiver.waitFor("three events") { requests in
                Set(requests.compactMap(\.event)).isSuperset(of: ["build.committed", "build.published", "repo.updated"])
            }
            let page = try await Management.call(server, "GET", "/status/webhooks", token: nil)

            // Assert
            #expect(requests.count == 3, "\(requests.map { $0.event ?? "?" })")
            for request in requests {
                #expect(request.isSigned(with: Self.secret), "\(request.headers)")
                #expect(!request.isSigned(with: Self.secret + "x"))
                #expect(request.json["event"] as? String == request.event)
                #expect(request.headers["content-type"] == "application/json")
                #expect(request.json["timestamp"] as? String != nil)
            }
            #expect(Set(requests.compactMap(\.deliveryID)).count == 3)
            let committed = try #require(requests.first { $0.event == "build.committed" }).json
            #expect(committed["build_id"] as? Int == build)
            #expect(committed["repo"] as? String == "stable")
            #expect((committed["refs"] as? [String: String])?[ref] != nil, "\(committed)")
            #expect((committed["build_url"] as? String)?.hasSuffix("/api/v1/build/\(build)") == true)
            let publishedEvent = try #require(requests.first { $0.event == "build.published" }).json
            #expect(publishedEvent["build_id"] as? Int == build)
            #expect((publishedEvent["refs"] as? [String: String])?[ref] != nil, "\(publishedEvent)")
            let updated = try #require(requests.first { $0.event == "repo.updated" }).json
            let files = updated["changed_files"] as? [String] ?? []
            #expect(files.contains("summary"), "\(files)")
            #expect(files.contains("refs/heads/\(ref)"), "\(files)")
            #expect(updated["repo_url"] as? String == server.url("/repo/stable").absoluteString)
            #expect(page.status == 200)
            #expect(page.text.contains("build.published"))
            #expect(!page.text.contains(Self.secret))
            #expect(!page.text.contains("/hook"), "anonymous viewers see the receiver's origin only")
            let rows = try await Self.statusRows(server)
            #expect(rows.count == 3)
            #expect(rows.allSatisfy { $0.state == "delivered" && $0.attempts == 1 }, "\(rows)")
            let log = await server.output()
            #expect(!log.contains(Self.secret))
        }
        await server.stop()
    }

    @Test(
        "a receiver that answers 500 twice gets the same signed delivery a third time, and it is then delivered",
        arguments: TestEnvironment.databases)
    func failingReceiverIsRetried(database: DatabaseKind) async throws {
        // Arrange
        let receiver = try WebhookReceiver(failFirst: 2)
        let server = try await Self.server(database: database, receiver: receiver, events: [.buildCommitted])
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)

            // Act
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let requests = try await receiver.waitFor("three attempts") { $0.count >= 3 }
            let rows = try await Self.waitForRows(server) { rows in rows.first?.state == "delivered" }
            try await Task.sleep(for: .seconds(2))

            // Assert
            #expect(receiver.received.count == 3, "no attempt after the delivery")
            #expect(Set(requests.compactMap(\.deliveryID)).count == 1, "one delivery id on every attempt")
            #expect(Set(requests.map(\.body)).count == 1, "the same body on every attempt")
            #expect(requests.allSatisfy { $0.isSigned(with: Self.secret) })
            #expect(requests.first?.json["build_id"] as? Int == build)
            #expect(rows.count == 1)
            #expect(rows.first?.attempts == 3, "\(rows)")
            let log = await server.output()
            #expect(log.contains("HTTP 500"), "each failed attempt is logged")
        }
        await server.stop()
    }

    @Test(
        "deliveries pending while the receiver is down survive a server restart and are delivered after it",
        arguments: TestEnvironment.databases)
    func pendingDeliveriesSurviveRestart(database: DatabaseKind) async throws {
        // Arrange: the receiver's port is reserved, but nothing listens there yet.
        let receiver = try WebhookReceiver(listening: false)
        let server = try await Self.server(database: database, receiver: receiver, events: [.buildCommitted])
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let failing = try await Self.waitForRows(server) { rows in (rows.first?.attempts ?? 0) >= 2 }

            // Act
            await server.stop()
            try receiver.start()
            try await server.start()
            let requests = try await receiver.waitFor("the pending delivery") { !$0.isEmpty }
            let rows = try await Self.waitForRows(server) { rows in rows.first?.state == "delivered" }

            // Assert
            #expect(failing.first?.state == "pending")
            #expect(requests.count == 1)
            #expect(requests.first?.event == "build.committed")
            #expect(requests.first?.json["build_id"] as? Int == build)
            #expect(requests.first?.isSigned(with: Self.secret) == true)
            #expect(rows.count == 1)
            #expect((rows.first?.attempts ?? 0) > 2, "\(rows)")
        }
        await server.stop()
        receiver.stop()
    }

    @Test(
        "repo.updated lists the files the update changed: the summary, exactly the refs that moved, and new deltas",
        arguments: TestEnvironment.databases)
    func repoUpdatedListsChangedFiles(database: DatabaseKind) async throws {
        // Arrange
        let receiver = try WebhookReceiver()
        let server = try await Self.server(
            database: database, receiver: receiver, events: [.repoUpdated],
            repoKeys: ["deltas": [["id": ["org.test.*"], "depth": 1]]])
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let ref = try await Management.appRef()
            let first = try await Management.committedBuild(version: "1", server: server, client: client)
            let firstPublish = try await Management.publishJob(server, build: first, token: token)
            try await Management.waitForUpdate(server, after: firstPublish, token: token)
            _ = try await receiver.waitFor("the first repo.updated") { $0.count >= 1 }
            let second = try await Management.committedBuild(version: "2", server: server, client: client)
            let refsBefore = try await Management.refs(of: server.repoPath)

            // Act
            let secondPublish = try await Management.publishJob(server, build: second, token: token)
            try await Management.waitForUpdate(server, after: secondPublish, token: token)
            let requests = try await receiver.waitFor("the second repo.updated") { $0.count >= 2 }
            let refsAfter = try await Management.refs(of: server.repoPath)

            // Assert
            let firstFiles = requests[0].json["changed_files"] as? [String] ?? []
            let secondFiles = requests[1].json["changed_files"] as? [String] ?? []
            #expect(firstFiles.contains("refs/heads/\(ref)"), "\(firstFiles)")
            #expect(firstFiles.contains("stable.flatpakrepo"), "\(firstFiles)")
            #expect(secondFiles.contains("summary"), "\(secondFiles)")
            #expect(secondFiles.contains("refs/heads/\(ref)"), "\(secondFiles)")
            let newDeltas = Set(secondFiles.filter { $0.hasPrefix("deltas/") }).subtracting(firstFiles)
            #expect(!newDeltas.isEmpty, "a delta from version 1 to 2: \(secondFiles)")
            #expect(!secondFiles.contains("stable.flatpakrepo"), "written once, unchanged since: \(secondFiles)")
            // Exactly the refs whose commit the second publish and update moved are listed.
            let moved = Set(refsAfter.keys).union(refsBefore.keys).filter { refsBefore[$0] != refsAfter[$0] }
            #expect(Set(secondFiles.filter { $0.hasPrefix("refs/") }) == Set(moved.map { "refs/heads/" + $0 }))
            #expect(Set(firstFiles.filter { $0.hasPrefix("refs/") }) == Set(refsBefore.keys.map { "refs/heads/" + $0 }))
            for path in firstFiles + secondFiles {
                #expect(!path.hasPrefix("/") && !path.contains(".."), "\(path)")
            }
        }
        await server.stop()
    }

    @Test(
        "a reviewable check that exits 1 sends check.review-required, a failing check sends build.failed",
        arguments: TestEnvironment.databases)
    func checksSendReviewRequiredAndFailed(database: DatabaseKind) async throws {
        // Arrange
        let scripts = try TempDirectory(prefix: "flat-manager-webhook-checks")
        let review = try Management.script("review.sh", in: scripts, "echo 'needs a human' >&2; exit 1")
        let lint = try Management.script("lint.sh", in: scripts, "echo 'icon missing' >&2; exit 1")
        let receiver = try WebhookReceiver()
        let server = try await Self.server(
            database: database, receiver: receiver, events: [.checkReviewRequired, .buildFailed],
            repoKeys: [
                "hooks": [
                    "checks": ["review": ["command": [review], "reviewable": true], "lint": ["command": [lint]]]
                ]
            ])
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)

            // Act
            let build = try await Management.committedBuild(
                version: "1", server: server, client: client, checksMayFail: true)
            let requests = try await receiver.waitFor("both check events") { $0.count >= 2 }

            // Assert
            let review = try #require(requests.first { $0.event == "check.review-required" }).json
            #expect(review["check_name"] as? String == "review")
            #expect(review["build_id"] as? Int == build)
            #expect((review["reason"] as? String)?.contains("needs a human") == true, "\(review)")
            let failed = try #require(requests.first { $0.event == "build.failed" }).json
            #expect(failed["stage"] as? String == "check")
            #expect(failed["check_name"] as? String == "lint")
            #expect((failed["reason"] as? String)?.contains("icon missing") == true, "\(failed)")
            #expect(requests.allSatisfy { $0.isSigned(with: Self.secret) })
        }
        await server.stop()
    }

    /// Polls the status page until `done` holds for its rows.
    static func waitForRows(
        _ server: TestServer, timeout: Duration = .seconds(120),
        until done: ([(event: String, state: String, attempts: Int)]) -> Bool
    ) async throws -> [(event: String, state: String, attempts: Int)] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let rows = try await statusRows(server)
            if done(rows) { return rows }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("/status/webhooks never reached the wanted state: \(rows)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
