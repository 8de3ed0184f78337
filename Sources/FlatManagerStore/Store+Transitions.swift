import FlatManagerCore
import SQLKit

/// The build state machines of server.md §2.4. Each transition is one transaction that locks the build row
/// (`FOR UPDATE` on PostgreSQL), checks the current state, and writes the new one together with its job.
extension Store {
    /// The result of a requested transition: done, or refused because of the build's current state.
    public enum Transition<T: Sendable>: Sendable {
        case done(T)
        /// The build as it is; the caller turns its states into the upstream error.
        case refused(Build)
    }

    /// How a commit job's work ended.
    public enum CommitOutcome: Sendable {
        /// No check hooks: the build becomes Ready.
        case ready
        /// One check job (kind 4) and one Pending check row per name; the build becomes Validating.
        case validating(checks: [String])
        /// The work failed; the build becomes Failed with this reason.
        case failed(String)
    }

    /// Uploading → Committing, inserting the commit job and setting `commit_job_id`. Nil when there is no build.
    public func beginCommit(buildID: Int32, contents: JobContents) async throws -> Transition<Job>? {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { return nil }
            guard build.repoState == .uploading else { return .refused(build) }
            let job = try await insertJob(kind: .commit, contents: contents, repo: nil, startAfter: nil, in: db)
            build.repoState = .committing
            build.commitJobID = job.id
            try await updateStates(of: build, in: db)
            return .done(job)
        }
    }

    /// Committing → Ready / Validating (with its checks) / Failed. False, with nothing changed, when the build
    /// is missing or no longer Committing.
    public func finishCommit(buildID: Int32, outcome: CommitOutcome) async throws -> Bool {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true), build.repoState == .committing else {
                return false
            }
            switch outcome {
            case .ready, .validating(checks: []):
                build.repoState = .ready
                build.repoStateReason = nil
            case .validating(let checks):
                try await insertChecks(checks, buildID: buildID, in: db)
                build.repoState = .validating
                build.repoStateReason = nil
            case .failed(let reason):
                build.repoState = .failed
                build.repoStateReason = reason
            }
            try await updateStates(of: build, in: db)
            return true
        }
    }

    /// Unpublished and Ready → Publishing, inserting the publish job on the build's repo queue and setting
    /// `publish_job_id`. The published state is checked first, as upstream does. Nil when there is no build.
    /// `allowDowngrade` (ours) travels in the job's contents to the publish job's downgrade protection.
    public func beginPublish(buildID: Int32, allowDowngrade: Bool = false) async throws -> Transition<Job>? {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { return nil }
            guard build.publishedState == .unpublished, build.repoState == .ready else { return .refused(build) }
            let job = try await insertJob(
                kind: .publish, contents: .publish(build: buildID, allowDowngrade: allowDowngrade), repo: build.repo,
                startAfter: nil, in: db)
            build.publishedState = .publishing
            build.publishJobID = job.id
            try await updateStates(of: build, in: db)
            return .done(job)
        }
    }

    /// Publishing → Published (`failure` nil) or Failed(failure). Like 0.5, a successful publish also moves a
    /// build that a restart marked Failed("Server was restarted during publish") to Published, since the files
    /// are out. False, with nothing changed, otherwise.
    public func finishPublish(buildID: Int32, failure: String?) async throws -> Bool {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { return false }
            let restarted =
                build.publishedState == .failed && build.publishedStateReason == Self.restartedDuringPublishReason
            guard build.publishedState == .publishing || (restarted && failure == nil) else { return false }
            build.publishedState = failure == nil ? .published : .failed
            build.publishedStateReason = failure
            try await updateStates(of: build, in: db)
            return true
        }
    }

    /// Any state except Committing, Purging and Validating, and only while not Publishing → Purging
    /// (Purged → Purging is allowed). Returns the updated build. Nil when there is no build. `owner` (this process)
    /// is recorded so that recovery resets the purge only once its owner is dead.
    public func beginPurge(buildID: Int32, owner: String = Store.purgeOwner) async throws -> Transition<Build>? {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { return nil }
            let busy: Set<RepoState> = [.committing, .purging, .validating]
            guard !busy.contains(build.repoState), build.publishedState != .publishing else {
                return .refused(build)
            }
            build.repoState = .purging
            build.repoStateReason = nil
            try await updateStates(of: build, in: db)
            try await recordPurge(buildID: buildID, owner: owner, in: db)
            return .done(build)
        }
    }

    /// Purging → Purged (`failure` nil) or Failed(failure), where `failure` is the full reason text
    /// (upstream: "Failed to Purge build: <io error>"). Also accepted when a restart marked the build
    /// Failed("Server was restarted during job") while the purge was still running.
    /// Throws `notFound` without a build and `conflict` when the build is in neither state.
    public func finishPurge(buildID: Int32, failure: String?) async throws -> Build {
        try await transaction { db in
            guard var build = try await build(id: buildID, in: db, lock: true) else { throw StoreError.notFound }
            let restarted = build.repoState == .failed && build.repoStateReason == Self.restartedDuringJobReason
            guard build.repoState == .purging || restarted else {
                throw StoreError.conflict("Build \(buildID) is \(build.repoState.name), not purging")
            }
            build.repoState = failure == nil ? .purged : .failed
            build.repoStateReason = failure
            try await updateStates(of: build, in: db)
            try await forgetPurge(buildID: buildID, in: db)
            return build
        }
    }
}
