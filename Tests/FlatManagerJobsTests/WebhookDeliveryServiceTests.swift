import FlatManagerCore
import FlatManagerStore
import Foundation
import Synchronization
import SystemPackage
import Testing

import class TestSupport.TempDirectory

@testable import FlatManagerJobs

/// A transport that answers from a script and records what it was asked to send.
final class ScriptedTransport: WebhookTransport {
    struct Sent: Sendable {
        var url: String
        var headers: [String: String]
        var body: [UInt8]
    }

    private let state: Mutex<(answers: [WebhookResponse], sent: [Sent])>

    init(_ answers: [WebhookResponse]) {
        state = Mutex((answers, []))
    }

    var sent: [Sent] { state.withLock { $0.sent } }

    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async -> WebhookResponse {
        state.withLock { state in
            state.sent.append(
                Sent(url: url, headers: Dictionary(headers, uniquingKeysWith: { $1 }), body: body))
            return state.answers.isEmpty ? .answered(status: 200, excerpt: "") : state.answers.removeFirst()
        }
    }
}

@Suite("Webhook delivery service")
struct WebhookDeliveryServiceTests {
    static let hook = WebhookConfig(url: "http://127.0.0.1:9/hook", events: [.buildCommitted], secret: "s3")

    static func service(_ harness: JobHarness, transport: ScriptedTransport, maxAttempts: Int = 20)
        -> WebhookDeliveryService
    {
        var policy = WebhookDeliveryPolicy()
        policy.retryBaseMilliseconds = 1
        policy.maxAttempts = maxAttempts
        return WebhookDeliveryService(
            store: harness.store, webhooks: [hook], policy: policy, transport: transport, owner: "test:1:1",
            logger: harness.dispatcher.environment.logger)
    }

    static func enqueue(_ harness: JobHarness, url: String = hook.url) async throws {
        try await harness.store.enqueueWebhookDeliveries([
            WebhookDelivery.Draft(
                event: .buildCommitted, url: url, body: #"{"event":"build.committed","build_id":1}"#, repo: "stable",
                buildID: 1, jobID: 1)
        ])
    }

    /// Runs rounds until the delivery leaves Pending (at most 200 rounds, 10 ms apart).
    static func settle(_ service: WebhookDeliveryService, _ harness: JobHarness) async throws -> WebhookDelivery {
        for _ in 0..<200 {
            await service.deliverDue()
            let row = try #require(try await harness.store.recentWebhookDeliveries(limit: 1).first)
            if row.state != .pending { return row }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw JobError.io("the delivery never settled", reason: "")
    }

    @Test("A 500 and a refused connection are retried; the third attempt delivers the same signed body")
    func retriesThenDelivers() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        let transport = ScriptedTransport([
            .answered(status: 500, excerpt: "boom"), .failed("connection refused"),
            .answered(status: 204, excerpt: ""),
        ])
        let service = Self.service(harness, transport: transport)
        try await Self.enqueue(harness)

        // Act
        let row = try await Self.settle(service, harness)

        // Assert
        #expect(row.state == .delivered)
        #expect(row.attempts == 3)
        #expect(row.lastStatus == 204)
        let sent = transport.sent
        #expect(sent.count == 3)
        #expect(Set(sent.map(\.body)).count == 1)
        #expect(Set(sent.compactMap { $0.headers["X-Flat-Manager-Delivery"] }).count == 1)
        for request in sent {
            #expect(request.headers["X-Hub-Signature-256"] == WebhookSignature.value(body: request.body, secret: "s3"))
            #expect(request.headers["X-Flat-Manager-Event"] == "build.committed")
            #expect(request.headers["Content-Type"] == "application/json")
        }
        await harness.close()
    }

    @Test("After max-attempts failed attempts the delivery is failed with the last error")
    func givesUpAfterMaxAttempts() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        let transport = ScriptedTransport(Array(repeating: .answered(status: 503, excerpt: "busy"), count: 10))
        let service = Self.service(harness, transport: transport, maxAttempts: 2)
        try await Self.enqueue(harness)

        // Act
        let row = try await Self.settle(service, harness)

        // Assert
        #expect(row.state == .failed)
        #expect(row.attempts == 2)
        #expect(row.lastStatus == 503)
        #expect(row.lastError == "HTTP 503: busy")
        #expect(transport.sent.count == 2)
        await harness.close()
    }

    @Test("A delivery whose webhook is no longer configured is failed without a request")
    func removedWebhookIsFailed() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        let transport = ScriptedTransport([])
        let service = Self.service(harness, transport: transport)
        try await Self.enqueue(harness, url: "http://127.0.0.1:9/removed")

        // Act
        let row = try await Self.settle(service, harness)

        // Assert
        #expect(row.state == .failed)
        #expect(transport.sent.isEmpty)
        await harness.close()
    }

    @Test("The back-off schedules the retry base · 2^(n-1) after the n-th failure, capped")
    func classifySchedulesBackOff() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        var policy = WebhookDeliveryPolicy()
        policy.retryBaseMilliseconds = 1000
        policy.retryMaxSeconds = 4
        let service = WebhookDeliveryService(
            store: harness.store, webhooks: [], policy: policy, transport: ScriptedTransport([]), owner: "o",
            logger: harness.dispatcher.environment.logger)
        let now = Timestamp(secondsSinceEpoch: 2_000_000)

        // Act
        let outcomes = (1...4).map {
            service.classify(.answered(status: 500, excerpt: ""), attempt: $0, created: now, now: now)
        }

        // Assert
        let waits = outcomes.compactMap { outcome -> Int64? in
            guard case .retry(_, _, let at) = outcome else { return nil }
            return at.secondsSinceEpoch - now.secondsSinceEpoch
        }
        #expect(waits == [1, 2, 4, 4])
        await harness.close()
    }

    @Test("The repository snapshot reports added, changed and removed files, never dot-files or retired deltas")
    func snapshotReportsChanges() throws {
        // Arrange
        let scratch = try TempDirectory(prefix: "fm-snapshot")
        let repo = FilePath(scratch.path)
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(repo)/deltas/ab/cdef", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(repo)/deltas/.tmp/xy", withIntermediateDirectories: true)
        try Data("s1".utf8).write(to: URL(fileURLWithPath: "\(repo)/summary"))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: "\(repo)/config"))
        try Data("old".utf8).write(to: URL(fileURLWithPath: "\(repo)/deltas/ab/cdef/superblock"))
        let before = RepoFileSnapshot.take(of: repo)

        // Act
        try Data("s2 longer".utf8).write(to: URL(fileURLWithPath: "\(repo)/summary"))
        try fm.removeItem(atPath: "\(repo)/deltas/ab/cdef/superblock")
        try Data("new".utf8).write(to: URL(fileURLWithPath: "\(repo)/summary.sig"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(repo)/deltas/.tmp/xy/superblock"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(repo)/.lock"))
        let changed = RepoFileSnapshot.take(of: repo).changedPaths(since: before)

        // Assert
        #expect(changed == ["deltas/ab/cdef/superblock", "summary", "summary.sig"])
    }

    @Test("Changed refs are those whose commit differs from the recorded ones; with no record, all")
    func changedRefs() {
        // Arrange
        let before = ["app/a/x86_64/stable": "1", "app/b/x86_64/stable": "2", "app/gone/x86_64/stable": "3"]
        let after = ["app/a/x86_64/stable": "1", "app/b/x86_64/stable": "9", "app/new/x86_64/stable": "4"]

        // Act
        let changed = RepoRefs.changedPaths(before: before, after: after)
        let unrecorded = RepoRefs.changedPaths(before: nil, after: ["app/a/x86_64/stable": "1"])

        // Assert
        #expect(
            changed == [
                "refs/heads/app/b/x86_64/stable", "refs/heads/app/gone/x86_64/stable",
                "refs/heads/app/new/x86_64/stable",
            ])
        #expect(unrecorded == ["refs/heads/app/a/x86_64/stable"])
    }
}
