import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Testing

@testable import FlatManagerAPI

/// Ours (issue #13): a job GET with `wait-for-change` is held until the job changes, so our client follows jobs
/// without polling delays; without the member the answer is upstream's, at once.
@Suite("Job GET long-poll")
struct JobLongPollTests {
    static func get(
        _ harness: APIHarness, job: Int32, body: String
    ) async throws -> (status: HTTPResponse.Status, longPoll: String?, job: Job?) {
        try await harness.test { client in
            let response = try await client.execute(
                uri: "/api/v1/job/\(job)", method: .get, headers: .bearer(harness.token()),
                body: ByteBuffer(string: body))
            let name = try #require(HTTPField.Name(JobLogRequest.longPollHeader))
            return (
                response.status, response.headers[name],
                response.status == .ok ? try JSONDecoder().decode(Job.self, from: Data(buffer: response.body)) : nil
            )
        }
    }

    @Test("a held GET answers with the log line written while it waited")
    func answersWithTheNewLogLine() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let job = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
        let store = harness.store
        let writer = Task {
            try await Task.sleep(for: .milliseconds(300))
            try await store.appendJobLog(id: job.id, text: "a line\n")
        }

        // Act
        let answer = try await Self.get(harness, job: job.id, body: #"{"log-offset":0,"wait-for-change":10}"#)
        try await writer.value

        // Assert
        #expect(answer.status == .ok)
        #expect(answer.longPoll == "1")
        #expect(answer.job?.log == "a line\n")
    }

    @Test("a held GET of a job that does not change answers when the wait is over, with the log from the offset")
    func answersWhenTheWaitIsOver() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let job = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
        try await harness.store.appendJobLog(id: job.id, text: "old\n")

        let answer = try await Self.get(harness, job: job.id, body: #"{"log-offset":4,"wait-for-change":0.2}"#)

        #expect(answer.status == .ok)
        #expect(answer.longPoll == "1")
        #expect(answer.job?.log == "")
        #expect(answer.job?.status == .new)
    }

    @Test("without the member, or with zero, the answer is upstream's: at once and without the header")
    func upstreamAnswerWithoutTheMember() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let job = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)

        let plain = try await Self.get(harness, job: job.id, body: #"{"log-offset":0}"#)
        let zero = try await Self.get(harness, job: job.id, body: #"{"wait-for-change":0}"#)
        let negative = try await Self.get(harness, job: job.id, body: #"{"wait-for-change":-1}"#)

        #expect(plain.status == .ok && plain.longPoll == nil)
        #expect(zero.status == .ok && zero.longPoll == nil)
        #expect(negative.status == .badRequest)
    }

    @Test("a line this process writes wakes the wait at once, without waiting for the database look")
    func inProcessSignalWakesTheWait() async throws {
        // Arrange: the database is looked at only once an hour, so only the store's signal can end the wait.
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let job = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
        let store = harness.store
        let writer = Task {
            try await Task.sleep(for: .milliseconds(200))
            try await store.appendJobLog(id: job.id, text: "a line\n")
        }

        // Act: the wait may last an hour; it counts as woken when it ends within a minute (a liveness bound, not a
        // speed figure).
        let woken = await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                try? await JobWaiting(store: store, step: .seconds(3600))
                    .waitForChange(of: job, offset: 0, upTo: .seconds(3600))
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        try await writer.value

        // Assert
        #expect(woken == true, "the wait ended with a change, not at the minute's bound")
    }
}
