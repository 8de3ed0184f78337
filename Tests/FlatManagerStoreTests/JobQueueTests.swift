import FlatManagerCore
import Testing

@testable import FlatManagerStore

@Suite("Job queue")
struct JobQueueTests {
    private func claim(_ store: Store, _ queue: Store.QueueSelector = .global, owner: String = "me:1:1")
        async throws -> Job?
    {
        try await store.claimNextJob(queue: queue, owner: owner, leaseSeconds: 60, allowConcurrent: true)
    }

    private func finish(_ store: Store, _ job: Job?, _ status: JobStatus = .ended) async throws {
        try await store.finishJob(id: try #require(job).id, status: status, results: "{}")
    }

    @Test("Jobs are claimed by kind priority, then id", arguments: TestDatabase.kinds)
    func claimOrder(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let update = try await store.createJob(
                kind: .updateRepo, contents: .updateRepo(repo: "stable"), repo: "stable", startAfter: nil)
            let republish = try await store.createJob(
                kind: .republish, contents: .republish(app: "a.b", endOfLife: nil, endOfLifeRebase: nil),
                repo: "stable", startAfter: nil)
            let publish = try await store.createJob(
                kind: .publish, contents: .publish(build: 1), repo: "stable", startAfter: nil)

            var order: [Int32] = []
            while let job = try await claim(store, .repo("stable")) {
                order.append(job.id)
                try await finish(store, job)
            }

            #expect(order == [republish.id, publish.id, update.id])
        }
    }

    @Test("A claimed job is Started and leased; global and repo queues are separate", arguments: TestDatabase.kinds)
    func claimStartsJob(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let check = try await store.createJob(
                kind: .check, contents: .check(build: 1, name: "a"), repo: nil, startAfter: nil)
            let commit = try await store.createJob(
                kind: .commit, contents: .commit(build: 1, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil),
                repo: nil, startAfter: nil)

            let first = try await claim(store)
            let onRepo = try await claim(store, .repo("stable"))

            #expect(first?.id == commit.id)
            #expect(first?.status == .started)
            #expect(try await store.job(id: commit.id)?.status == .started)
            #expect(onRepo == nil)
            #expect(try await store.activeJobs().map(\.id) == [check.id, commit.id])
        }
    }

    @Test("A job whose start time lies ahead is not claimed", arguments: TestDatabase.kinds)
    func futureJobIsNotClaimed(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let later = Timestamp.now().adding(seconds: 3600)
            let job = try await store.createJob(
                kind: .updateRepo, contents: .updateRepo(repo: "stable"), repo: "stable", startAfter: later)
            let past = try await store.createJob(
                kind: .updateRepo, contents: .updateRepo(repo: "stable"), repo: "stable",
                startAfter: Timestamp.now().adding(seconds: -5))

            let claimed = try await claim(store, .repo("stable"))
            let next = try await claim(store, .repo("stable"))

            #expect(claimed?.id == past.id)
            #expect(next == nil)
            #expect(try await store.job(id: job.id)?.startAfter?.secondsSinceEpoch == later.secondsSinceEpoch)
        }
    }

    @Test("Dependencies hold a job until they are Ended or Broken", arguments: TestDatabase.kinds)
    func dependenciesHoldJobs(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let first = try await store.createJob(
                kind: .publish, contents: .publish(build: 1), repo: "stable", startAfter: nil)
            let second = try await store.createJob(
                kind: .publish, contents: .publish(build: 2), repo: "stable", startAfter: nil)
            let (_, update) = try await store.queueUpdateRepo(repo: "stable", startingJob: first.id, delaySeconds: 0)
            _ = try await store.queueUpdateRepo(repo: "stable", startingJob: second.id, delaySeconds: 0)

            let a = try await claim(store, .repo("stable"))
            try await finish(store, a, .broken)
            let b = try await claim(store, .repo("stable"))
            let blocked = try await claim(store, .repo("stable"))
            try await finish(store, b)
            let c = try await claim(store, .repo("stable"))

            #expect(a?.id == first.id)
            #expect(b?.id == second.id)
            #expect(blocked == nil)
            #expect(c?.id == update.id)
        }
    }

    @Test("A repo queue hands out no second job while one is Started", arguments: TestDatabase.kinds)
    func repoQueueRunsOneAtATime(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            for build in Int32(1)...3 {
                _ = try await store.createJob(
                    kind: .publish, contents: .publish(build: build), repo: "stable", startAfter: nil)
            }

            let claims = try await withThrowingTaskGroup(of: Job?.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        try await store.claimNextJob(
                            queue: .repo("stable"), owner: "w\(index)", leaseSeconds: 60, allowConcurrent: false)
                    }
                }
                return try await group.reduce(into: [Job]()) { if let job = $1 { $0.append(job) } }
            }
            let other = try await store.createJob(
                kind: .publish, contents: .publish(build: 9), repo: "beta", startAfter: nil)
            let otherClaim = try await store.claimNextJob(
                queue: .repo("beta"), owner: "w", leaseSeconds: 60, allowConcurrent: false)

            #expect(claims.count == 1)
            #expect(otherClaim?.id == other.id)
        }
    }

    @Test("Concurrent claimers on the global queue never get the same job", arguments: TestDatabase.kinds)
    func concurrentClaimsAreDistinct(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            for build in Int32(1)...10 {
                _ = try await store.createJob(
                    kind: .check, contents: .check(build: build, name: "a"), repo: nil, startAfter: nil)
            }

            let ids = try await withThrowingTaskGroup(of: Int32?.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.claimNextJob(
                            queue: .global, owner: "w\(index)", leaseSeconds: 60, allowConcurrent: true)?.id
                    }
                }
                return try await group.reduce(into: [Int32]()) { if let id = $1 { $0.append(id) } }
            }

            #expect(ids.count == 10)
            #expect(Set(ids).count == 10)
        }
    }

    @Test("Claimers in separate processes never run two jobs of one repo queue", arguments: TestDatabase.kinds)
    func repoQueueAcrossProcesses(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            for build in Int32(1)...3 {
                _ = try await stores[0].createJob(
                    kind: .publish, contents: .publish(build: build), repo: "stable", startAfter: nil)
            }

            let claims = try await withThrowingTaskGroup(of: Job?.self) { group in
                for index in 0..<8 {
                    let store = stores[index % 2]
                    group.addTask {
                        try await store.claimNextJob(
                            queue: .repo("stable"), owner: "p\(index % 2)", leaseSeconds: 60, allowConcurrent: false)
                    }
                }
                return try await group.reduce(into: [Job]()) { if let job = $1 { $0.append(job) } }
            }

            #expect(claims.count == 1)
        }
    }

    @Test("Claimers in separate processes never get the same global job", arguments: TestDatabase.kinds)
    func globalQueueAcrossProcesses(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            for build in Int32(1)...10 {
                _ = try await stores[1].createJob(
                    kind: .check, contents: .check(build: build, name: "a"), repo: nil, startAfter: nil)
            }

            let ids = try await withThrowingTaskGroup(of: Int32?.self) { group in
                for index in 0..<20 {
                    let store = stores[index % 2]
                    group.addTask {
                        try await store.claimNextJob(
                            queue: .global, owner: "p\(index % 2)", leaseSeconds: 60, allowConcurrent: true)?.id
                    }
                }
                return try await group.reduce(into: [Int32]()) { if let id = $1 { $0.append(id) } }
            }

            #expect(ids.count == 10)
            #expect(Set(ids).count == 10)
        }
    }

    @Test("Update-repo jobs are coalesced and chained", arguments: TestDatabase.kinds)
    func updateRepoCoalescing(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let publish1 = try await store.createJob(
                kind: .publish, contents: .publish(build: 1), repo: "stable", startAfter: nil)
            let publish2 = try await store.createJob(
                kind: .publish, contents: .publish(build: 2), repo: "stable", startAfter: nil)
            let before = Timestamp.now()

            let first = try await store.queueUpdateRepo(repo: "stable", startingJob: publish1.id, delaySeconds: 30)
            let reused = try await store.queueUpdateRepo(repo: "stable", startingJob: publish2.id, delaySeconds: 90)

            #expect(first.isNew)
            #expect(!reused.isNew)
            #expect(reused.job.id == first.job.id)
            #expect(first.job.kind == .updateRepo)
            #expect(first.job.repo == "stable")
            #expect(first.job.contents == JobContents.updateRepo(repo: "stable").json)
            let startAfter = try #require(try await store.job(id: first.job.id)?.startAfter)
            #expect(startAfter.secondsSinceEpoch >= before.secondsSinceEpoch + 29)
            #expect(startAfter.secondsSinceEpoch <= before.secondsSinceEpoch + 40)

            // Make the update runnable and start it: the next request chains a new job behind it.
            try await store.finishJob(id: publish1.id, status: .ended, results: "{}")
            try await store.finishJob(id: publish2.id, status: .ended, results: "{}")
            let started = try await store.queueUpdateRepo(repo: "other", startingJob: nil, delaySeconds: 0)
            let running = try await claim(store, .repo("other"))
            let chained = try await store.queueUpdateRepo(repo: "other", startingJob: nil, delaySeconds: 0)
            let blocked = try await claim(store, .repo("other"))
            try await finish(store, running)
            let next = try await claim(store, .repo("other"))

            #expect(running?.id == started.job.id)
            #expect(chained.isNew)
            #expect(chained.job.id != started.job.id)
            #expect(blocked == nil)
            #expect(next?.id == chained.job.id)
        }
    }

    @Test(
        "Restart recovery without resumes fails interrupted builds, breaks jobs and re-queues updates",
        arguments: TestDatabase.kinds)
    func restartRecovery(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let dead = "deadhost:1:1"
            let alive = "livehost:2:2"
            // A committing build whose commit job a dead worker runs.
            let committing = try await store.makeBuild()
            _ = try await store.beginCommit(
                buildID: committing.id,
                contents: .commit(build: committing.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
            let commitJob = try await claim(store, owner: dead)
            // A committing build whose commit job never started: untouched.
            let queued = try await store.makeBuild()
            _ = try await store.beginCommit(
                buildID: queued.id,
                contents: .commit(build: queued.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
            // A publishing build, its job claimed by the dead worker; an update job with an expired lease of a
            // live owner; a publish job of a live owner.
            var ready = try await store.makeBuild(repo: "beta")
            ready.repoState = .ready
            try await store.force(ready)
            _ = try await store.beginPublish(buildID: ready.id)
            let publishJob = try await claim(store, .repo("beta"), owner: dead)
            let update = try await store.queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)
            let updateJob = try await store.claimNextJob(
                queue: .repo("stable"), owner: alive, leaseSeconds: -10, allowConcurrent: false)
            let liveJob = try await store.createJob(
                kind: .republish, contents: .republish(app: "a", endOfLife: nil, endOfLifeRebase: nil),
                repo: "gamma", startAfter: nil)
            _ = try await claim(store, .repo("gamma"), owner: alive)
            var purging = try await store.makeBuild()
            purging.repoState = .purging
            try await store.force(purging)

            let repos = try await store.recoverInterruptedJobs(
                owner: "me:3:3", isOwnerAlive: { $0 == alive }, maxResumes: 0)

            #expect(repos == ["stable"])
            let committingRead = try await store.build(id: committing.id)
            #expect(committingRead?.repoState == .failed)
            #expect(committingRead?.repoStateReason == Store.restartedDuringJobReason)
            #expect(try await store.build(id: queued.id)?.repoState == .committing)
            let readyRead = try await store.build(id: ready.id)
            #expect(readyRead?.publishedState == .failed)
            #expect(readyRead?.publishedStateReason == Store.restartedDuringPublishReason)
            #expect(try await store.build(id: purging.id)?.repoState == .failed)
            #expect(try await store.job(id: try #require(commitJob).id)?.status == .broken)
            #expect(try await store.job(id: try #require(publishJob).id)?.status == .broken)
            #expect(try await store.job(id: try #require(updateJob).id)?.status == .broken)
            #expect(updateJob?.id == update.job.id)
            #expect(try await store.job(id: liveJob.id)?.status == .started)
            let newUpdate = try #require(try await claim(store, .repo("stable")))
            #expect(newUpdate.kind == .updateRepo)
            #expect(newUpdate.id > update.job.id)
        }
    }

    @Test("Renewed leases survive recovery", arguments: TestDatabase.kinds)
    func renewedLeasesSurvive(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let job = try await store.createJob(
                kind: .check, contents: .check(build: 1, name: "a"), repo: nil, startAfter: nil)
            _ = try await store.claimNextJob(queue: .global, owner: "w:1:1", leaseSeconds: -10, allowConcurrent: true)

            try await store.renewLeases(owner: "w:1:1", leaseSeconds: 60)
            _ = try await store.recoverInterruptedJobs(owner: "w:1:1", isOwnerAlive: { _ in true })

            #expect(try await store.job(id: job.id)?.status == .started)
        }
    }

    @Test("Log text is appended, non-ASCII included, and results are stored", arguments: TestDatabase.kinds)
    func logAppend(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let job = try await store.createJob(
                kind: .check, contents: .check(build: 1, name: "a"), repo: nil, startAfter: nil)

            try await store.appendJobLog(id: job.id, text: "Running check command\n")
            try await store.appendJobLog(id: job.id, text: "Prüfung bestanden ✓ 🎉\n")
            try await store.finishJob(id: job.id, status: .ended, results: "{\"ok\":true}")

            let read = try await store.job(id: job.id)
            #expect(read?.log == "Running check command\nPrüfung bestanden ✓ 🎉\n")
            #expect(read?.status == .ended)
            #expect(read?.results == "{\"ok\":true}")
            #expect(try await store.activeJobs().isEmpty)
        }
    }
}
