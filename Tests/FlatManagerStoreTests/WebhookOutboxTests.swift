import FlatManagerCore
import Testing

@testable import FlatManagerStore

/// The webhook outbox (Store+WebhookDeliveries.swift): deliveries written with a job's end, claimed with a lease
/// by one sender at a time, retried when due, and finished only by their claim's owner.
@Suite("Webhook outbox")
struct WebhookOutboxTests {
    static func draft(_ event: WebhookEvent = .buildCommitted, url: String = "http://127.0.0.1:1/hook")
        -> WebhookDelivery.Draft
    {
        WebhookDelivery.Draft(
            event: event, url: url, body: #"{"event":"\#(event.rawValue)"}"#, repo: "stable", buildID: 7, jobID: nil)
    }

    @Test(
        "A job's end writes its deliveries in the same transaction, pending and due at once",
        arguments: TestDatabase.kinds)
    func finishJobWritesDeliveries(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let job = try await store.createJob(
                kind: .commit, contents: .commit(build: 7, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil),
                repo: nil, startAfter: nil)

            // Act
            try await store.finishJob(
                id: job.id, status: .ended, results: "{}", webhooks: [Self.draft(), Self.draft(url: "http://b/")])
            let recent = try await store.recentWebhookDeliveries(limit: 10)

            // Assert
            #expect(recent.count == 2)
            #expect(recent.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.event == .buildCommitted })
            #expect(Set(recent.map(\.url)) == ["http://127.0.0.1:1/hook", "http://b/"])
        }
    }

    @Test(
        "A claimed delivery is not claimed again while its lease lasts, by this or another process",
        arguments: TestDatabase.kinds)
    func claimsAreExclusive(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            // Arrange
            try await stores[0].enqueueWebhookDeliveries([Self.draft(), Self.draft(.repoUpdated)])
            let now = Timestamp.now().adding(seconds: 1)

            // Act
            async let first = stores[0].claimDueWebhookDeliveries(owner: "a", now: now, leaseSeconds: 60, limit: 10)
            async let second = stores[1].claimDueWebhookDeliveries(owner: "b", now: now, leaseSeconds: 60, limit: 10)
            let (a, b) = try await (first, second)
            let again = try await stores[0].claimDueWebhookDeliveries(
                owner: "c", now: now, leaseSeconds: 60, limit: 10)
            let afterExpiry = try await stores[1].claimDueWebhookDeliveries(
                owner: "d", now: now.adding(seconds: 61), leaseSeconds: 60, limit: 10)

            // Assert
            #expect(a.count + b.count == 2)
            #expect(Set(a.map(\.id)).isDisjoint(with: b.map(\.id)))
            #expect(again.isEmpty)
            #expect(afterExpiry.count == 2)
        }
    }

    @Test(
        "A failed attempt is retried when due; only the claim's owner records; delivered rows stay delivered",
        arguments: TestDatabase.kinds)
    func retryThenDeliver(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            try await store.enqueueWebhookDeliveries([Self.draft()])
            let now = Timestamp.now().adding(seconds: 1)
            let claimed = try await store.claimDueWebhookDeliveries(owner: "a", now: now, leaseSeconds: 60, limit: 1)
            let id = try #require(claimed.first?.id)

            // Act
            let byOther = try await store.recordWebhookAttempt(
                id: id, owner: "b", attempt: .delivered(status: 200), at: now)
            let retried = try await store.recordWebhookAttempt(
                id: id, owner: "a", attempt: .retry(status: 500, error: "HTTP 500", retryAt: now.adding(seconds: 10)),
                at: now)
            let early = try await store.claimDueWebhookDeliveries(
                owner: "a", now: now.adding(seconds: 5), leaseSeconds: 60, limit: 1)
            let due = try await store.claimDueWebhookDeliveries(
                owner: "a", now: now.adding(seconds: 10), leaseSeconds: 60, limit: 1)
            try await store.recordWebhookAttempt(
                id: id, owner: "a", attempt: .delivered(status: 204), at: now.adding(seconds: 10))
            let later = try await store.claimDueWebhookDeliveries(
                owner: "a", now: now.adding(seconds: 100), leaseSeconds: 60, limit: 1)
            let row = try #require(try await store.recentWebhookDeliveries(limit: 1).first)
            let counts = try await store.webhookDeliveryCounts()

            // Assert
            #expect(!byOther)
            #expect(retried)
            #expect(early.isEmpty)
            #expect(due.map(\.id) == [id])
            #expect(due.first?.attempts == 1)
            #expect(due.first?.lastStatus == 500)
            #expect(later.isEmpty)
            #expect(row.state == .delivered)
            #expect(row.attempts == 2)
            #expect(row.lastStatus == 204)
            #expect(row.lastError == nil)
            #expect(counts == [.delivered: 1])
        }
    }

    @Test("The refs recorded for a repository are read back, and replaced", arguments: TestDatabase.kinds)
    func repoRefs(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Act
            let before = try await store.webhookRepoRefs(repo: "stable")
            try await store.setWebhookRepoRefs(repo: "stable", refs: ["app/a/x86_64/stable": "abc"])
            try await store.setWebhookRepoRefs(repo: "stable", refs: ["app/b/x86_64/stable": "def", "x\"y": "1"])
            let after = try await store.webhookRepoRefs(repo: "stable")

            // Assert
            #expect(before == nil)
            #expect(after == ["app/b/x86_64/stable": "def", "x\"y": "1"])
        }
    }
}
