import FlatManagerCore
import SQLKit
import Testing

@testable import FlatManagerStore

/// Fencing tokens (Store+Leases.swift): every claim carries a growing generation, and a job's writes succeed only
/// while its lease is the current, unexpired one.
@Suite("Lease fencing")
struct LeaseFencingTests {
    private func claim(_ store: Store, owner: String = "a:1:1", leaseSeconds: Int = 60) async throws -> ClaimedJob {
        try #require(
            try await store.claimNextJobLease(
                queue: .global, owner: owner, leaseSeconds: leaseSeconds, allowConcurrent: true))
    }

    private func newJob(_ store: Store, _ name: String = "a") async throws -> Job {
        try await store.createJob(kind: .check, contents: .check(build: 1, name: name), repo: nil, startAfter: nil)
    }

    @Test("Every claim draws a larger generation than the one before", arguments: TestDatabase.kinds)
    func generationsGrow(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            _ = try await newJob(store, "a")
            _ = try await newJob(store, "b")

            let first = try await claim(store)
            let second = try await claim(store, owner: "b:2:2")

            #expect(first.lease.generation > 0)
            #expect(second.lease.generation > first.lease.generation)
            #expect(try await store.holdsLease(first.lease))
            #expect(try await store.holdsLease(second.lease))
        }
    }

    @Test(
        "A lease with another generation or owner, an expired one and a broken job's one do not hold",
        arguments: TestDatabase.kinds)
    func staleLeasesDoNotHold(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            _ = try await newJob(stores[0], "a")
            _ = try await newJob(stores[0], "b")
            let live = try await claim(stores[0])
            let expired = try await claim(stores[0], leaseSeconds: -10)
            let lease = live.lease

            let otherGeneration = JobLease(jobID: lease.jobID, owner: lease.owner, generation: lease.generation + 1)
            let otherOwner = JobLease(jobID: lease.jobID, owner: "b:2:2", generation: lease.generation)
            #expect(try await !stores[0].holdsLease(otherGeneration))
            #expect(try await !stores[0].holdsLease(otherOwner))
            #expect(try await !stores[0].holdsLease(expired.lease))
            // The other process takes the job over: its owner is reported dead.
            _ = try await stores[1].recoverInterruptedJobs(owner: "b:2:2", isOwnerAlive: { _ in false })
            #expect(try await !stores[0].holdsLease(lease))
        }
    }

    @Test("Log appends and the final status are written only with the current lease", arguments: TestDatabase.kinds)
    func conditionalWrites(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let job = try await newJob(store)
            let lease = try await claim(store).lease
            let stale = JobLease(jobID: job.id, owner: lease.owner, generation: lease.generation - 1)

            let staleLog = try await store.appendJobLog(id: job.id, text: "stale\n", lease: stale)
            let liveLog = try await store.appendJobLog(id: job.id, text: "live\n", lease: lease)
            let staleFinish = try await store.finishJob(id: job.id, status: .broken, results: "{}", lease: stale)
            let statusAfterStale = try await store.job(id: job.id)?.status
            let liveFinish = try await store.finishJob(id: job.id, status: .ended, results: "{}", lease: lease)

            #expect(!staleLog && liveLog && !staleFinish && liveFinish)
            #expect(statusAfterStale == .started)
            let read = try #require(try await store.job(id: job.id))
            #expect(read.log == "live\n")
            #expect(read.status == .ended)
            #expect(try await !store.holdsLease(lease))
        }
    }

    @Test(
        "Under a job's fence a transaction fails once the lease is taken over, and writes nothing",
        arguments: TestDatabase.kinds)
    func fencedTransactions(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            _ = try await newJob(stores[0])
            let lease = try await claim(stores[0]).lease
            let before = try await Store.$jobFence.withValue(lease) {
                try await stores[0].queueUpdateRepo(repo: "stable", startingJob: nil, delaySeconds: 0)
            }
            _ = try await stores[1].recoverInterruptedJobs(owner: "b:2:2", isOwnerAlive: { _ in false })

            await #expect(throws: StoreError.leaseLost(lease.description)) {
                try await Store.$jobFence.withValue(lease) {
                    _ = try await stores[0].queueUpdateRepo(repo: "other", startingJob: nil, delaySeconds: 0)
                }
            }

            #expect(before.isNew)
            let queued = try await stores[0].activeJobs().filter { $0.kind == .updateRepo }
            #expect(queued.map(\.repo) == ["stable"])
        }
    }

    @Test(
        "The session lock of a repo excludes another process until released",
        arguments: TestDatabase.kinds.filter { $0 == .postgres })
    func sessionLock(kind: DatabaseKind) async throws {
        try await TestDatabase.withStores(kind, count: 2) { stores in
            let other = stores[1]
            func tryLock() async throws -> Bool {
                try await other.withDatabase { db in
                    let row = try await db.raw(
                        "SELECT pg_try_advisory_lock(hashtext('flat-manager-repo-lock:stable')) AS got"
                    ).first()
                    let got = try row?.bool("got") ?? false
                    if got {
                        try await db.raw("SELECT pg_advisory_unlock(hashtext('flat-manager-repo-lock:stable'))").run()
                    }
                    return got
                }
            }

            let whileHeld = try await stores[0].withSessionLock("stable") { try await tryLock() }
            let afterwards = try await tryLock()

            #expect(!whileHeld)
            #expect(afterwards)
        }
    }
}
