import FlatManagerCore
import FlatManagerStore
import Foundation
import OSTree

/// Runs one configured check hook against a committed build (server.md §4.4).
struct CheckJob: JobHandler {
    static let kind = JobKind.check
    let buildID: Int32
    let name: String

    func run(in context: JobContext) async throws(JobError) -> CheckResult {
        let store = context.store
        let buildID = buildID
        guard let build = try await context.db({ try await store.build(id: buildID) }) else {
            throw .missingBuild(buildID)
        }
        let repo = try context.environment.repoConfig(build.repo)
        guard let hook = repo.hooks.checks[name] else { throw .unusableHook("The '\(name)' check hook is not defined") }
        guard !hook.command.isEmpty else {
            throw .unusableHook("The '\(name)' check hook is defined, but it has no command")
        }
        let jobID = context.job.id
        if let decided = try await decidedBeforeInterruption(in: context) {
            await context.log("Check status was updated to \(decided.name) before the interruption")
            return CheckResult()
        }
        await context.log("Running check command")
        let status = try await runHook(hook, in: context)
        _ = try await context.db {
            try await store.setCheckStatus(jobID: jobID, status: status, results: nil, onlyIfPendingUnlessFailed: true)
        }
        await context.log("Check status updated to \(status.name)")
        return CheckResult()
    }

    /// For a resumed run: the check's status when it is no longer Pending (the interrupted run, or the hook through
    /// the review API, decided it), so that the hook does not run again and possibly overturn it; nil otherwise.
    func decidedBeforeInterruption(in context: JobContext) async throws(JobError) -> CheckStatus? {
        let store = context.store
        let jobID = context.job.id
        guard try await context.db({ try await store.resumeCount(jobID: jobID) }) > 0,
            let check = try await context.db({ try await store.check(jobID: jobID) }), check.status != .pending
        else { return nil }
        return check.status
    }

    func runHook(_ hook: CheckHook, in context: JobContext) async throws(JobError) -> CheckStatus {
        do {
            try await Hook.run(
                "Check command", argv: hook.command, workingDirectory: context.environment.buildDirectory(buildID),
                variables: ["FLAT_MANAGER_BUILD_ID": "\(buildID)", "FLAT_MANAGER_JOB_ID": "\(context.job.id)"],
                in: context)
            await context.log("Check command exited successfully")
            return .passed
        } catch {
            // A program that could not be started fails the job and leaves the check Pending (server.md §4.4).
            guard let exitCode = error.exitCode else { throw .hook(error) }
            let message =
                "Check command \(Hook.displayName(hook.command)) exited unsuccessfully: exit status \(exitCode), "
                + "stderr: \(error.stderr)"
            await context.log(message)
            return hook.reviewable ? .reviewRequired(message) : .failed(message)
        }
    }
}
