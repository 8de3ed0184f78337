import FlatManagerCore
import Testing

@testable import FlatManagerStore

@Suite("Dashboard queries")
struct DashboardStoreTests {
    @Test("A job's queue, start and end times are recorded as it runs", arguments: TestDatabase.kinds)
    func jobTimesAreRecorded(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            let job = try await store.createJob(
                kind: .updateRepo, contents: .updateRepo(repo: "stable"), repo: "stable", startAfter: nil)
            let queued = try await store.jobTimes(ids: [job.id])[job.id]

            // Act
            let claimed = try await store.claimNextJob(
                queue: .repo("stable"), owner: "me:1:1", leaseSeconds: 60, allowConcurrent: false)
            let started = try await store.jobTimes(ids: [job.id])[job.id]
            try await store.finishJob(id: job.id, status: .ended, results: "{}")
            let ended = try await store.jobTimes(ids: [job.id])[job.id]

            // Assert
            #expect(claimed?.id == job.id)
            #expect(queued?.queued != nil && queued?.started == nil && queued?.ended == nil)
            #expect(started?.started != nil && started?.ended == nil)
            let times = try #require(ended)
            let (queuedAt, startedAt, endedAt) = try (
                #require(times.queued), #require(times.started), #require(times.ended)
            )
            #expect(queuedAt <= startedAt && startedAt <= endedAt)
            #expect(try await store.jobTimes(ids: []).isEmpty)
        }
    }

    @Test(
        "The build list filters by app prefix, repo, state, public and pages newest first",
        arguments: TestDatabase.kinds)
    func listBuildsFiltersAndPages(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange
            func create(_ repo: String, _ app: String?, public publicDownload: Bool = true) async throws -> Int32 {
                try await store.createBuild(
                    repo: repo, appID: app, publicDownload: publicDownload, buildLogURL: nil, tokenName: nil,
                    tokenType: nil, tokenBranches: nil
                ).id
            }
            let a1 = try await create("stable", "org.example.A")
            let a2 = try await create("stable", "org.example.B")
            let other = try await create("beta", "org.other.C")
            let none = try await create("stable", nil)
            let secret = try await create("stable", "org.example_x.D", public: false)
            try await store.setBuildFailed(id: a2, reason: "broken")
            func ids(_ filter: BuildListFilter, limit: Int = 10, offset: Int = 0) async throws -> [Int32] {
                try await store.listBuilds(filter, limit: limit, offset: offset).map(\.build.id)
            }

            // Act / Assert
            #expect(try await ids(BuildListFilter()) == [secret, none, other, a2, a1])
            #expect(try await ids(BuildListFilter(appPrefix: "org.example.")) == [a2, a1], "_ is no pattern")
            #expect(try await ids(BuildListFilter(appPrefix: "org.example")) == [secret, a2, a1])
            #expect(try await ids(BuildListFilter(appPrefix: "org.example", publicOnly: true)) == [a2, a1])
            #expect(try await ids(BuildListFilter(repo: "beta")) == [other])
            #expect(try await ids(BuildListFilter(repoStates: [.failed], publishedStates: [.failed])) == [a2])
            #expect(try await ids(BuildListFilter(since: .now().adding(seconds: 60))) == [])
            #expect(try await ids(BuildListFilter(until: .now().adding(seconds: 60))).count == 5)
            #expect(try await ids(BuildListFilter(), limit: 2, offset: 2) == [other, a2])
            #expect(try await ids(BuildListFilter(), limit: 2, offset: 1_000_000_000) == [])
        }
    }

    @Test("The queue lists the unfinished jobs a job waits for", arguments: TestDatabase.kinds)
    func queuedJobsShowDependencies(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            // Arrange: a running update-repo job, and a second queued behind it.
            _ = try await store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)
            let running = try await store.claimNextJob(
                queue: .repo("stable"), owner: "me:1:1", leaseSeconds: 60, allowConcurrent: false)
            let (_, waiting) = try await store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 3600)

            // Act
            let queued = try await store.queuedJobs()

            // Assert
            let runningID = try #require(running?.id)
            #expect(queued.map(\.job.id) == [runningID, waiting.id])
            #expect(queued.last?.waitsFor.map(\.id) == [runningID])
            #expect(queued.last?.waitsFor.first?.status == .started)
            #expect(queued.first?.waitsFor.isEmpty == true)
            #expect(queued.allSatisfy { $0.times.queued != nil })
        }
    }
}
