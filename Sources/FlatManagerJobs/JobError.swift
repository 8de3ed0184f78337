import OSTree

/// Why a job failed. The description is the text that ends up in `results.error-message`, in the job log's
/// `Job failed: …` line and in build state reasons; clients and tests read it, so each case keeps its wording.
public enum JobError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The job row cannot be run as it is: unknown kind, contents that do not parse, no repo, an implausible app id.
    case invalidJob(String)
    /// The job's build row is gone.
    case missingBuild(Int32)
    /// A repo the job names is not in the config.
    case missingRepo(String)
    /// The build has no build refs to commit or publish.
    case noRefs
    /// A ref the job just wrote or imported is not in the repository.
    case missingRef(ref: String, repo: String)
    /// The build left the state the job put it in while the job ran (`expected` reads "repo to be in Committing
    /// state", `job` is the kind's word: "commit").
    case unexpectedBuildState(expected: String, job: String)
    /// A store call failed; reads as upstream's `DbError: …`.
    case database(String)
    /// An external command failed, could not be started or timed out (the command line and its stderr).
    case command(CommandError)
    /// The command runner failed in a way `CommandError` does not describe.
    case runner(command: String, reason: String)
    /// A publish hook, post-publish script or check command failed or could not be started.
    case hook(HookFailure)
    /// A hook is configured in a way that cannot be run.
    case unusableHook(String)
    /// Content the job will not put into a repository (screenshots that are not one app's, links in a tree).
    case refused(String, reason: String)
    /// A file system or repository read/write failed: what was attempted (`Cannot write /x`) and why.
    case io(String, reason: String? = nil)
    /// A resumed job whose interrupted run had already failed the build: the reason it recorded then.
    case failedBeforeInterruption(String)
    /// The job's lease expired or was taken over by another worker: it stops without writing anything more.
    case lostLease(String)

    public var description: String {
        switch self {
        case .invalidJob(let message), .unusableHook(let message), .failedBeforeInterruption(let message):
            return message
        case .missingBuild(let id):
            return "Can't load build \(id)"
        case .missingRepo(let name):
            return "Can't find repo \(name)"
        case .noRefs:
            return "No refs in build"
        case .missingRef(let ref, let repo):
            return "Ref \(ref) missing in \(repo)"
        case .unexpectedBuildState(let expected, let job):
            return "Expected \(expected) at the end of the \(job) job"
        case .database(let detail):
            return "DbError: \(detail)"
        case .command(let error):
            return error.description
        case .runner(let command, let reason):
            return "Command \(command) failed: \(reason)"
        case .hook(let failure):
            return failure.description
        case .refused(let subject, let reason):
            return "Refusing \(subject): \(reason)"
        case .io(let attempt, let reason):
            return reason.map { "\(attempt): \($0)" } ?? attempt
        case .lostLease(let lease):
            return "Lost the lease (\(lease)); stopped without writing"
        }
    }
}
