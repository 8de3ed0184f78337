import FlatManagerCore
import FlatManagerStore
import Foundation
import Logging
import OSTree

/// Webhook events (Webhooks.swift in Core): the dispatcher decides, from the kind and outcome of the job it is
/// ending, which events happened, and the store writes their deliveries in the transaction that writes the job's
/// final status. So the job files need no webhook code, a job resumed after a crash reports its event when it
/// finally ends, and an event is in the outbox exactly when its job's end is in the database.
///
/// - commit Ended: build.committed; publish Ended: build.published; update-repo Ended: repo.updated;
/// - check Ended with Review Required: check.review-required; with Failed: build.failed (stage `check`);
/// - commit, publish or check Broken: build.failed with the job's error as the reason.
///
/// A job broken by start-up recovery (past `job-max-resumes`) is not reported: no dispatcher ends it.
extension JobDispatcher {
    /// What an update-repo job's repo.updated needs from before the job ran.
    struct WebhookBaseline: Sendable {
        let repo: RepoConfig
        let files: RepoFileSnapshot
        let refs: [String: String]?
    }

    var webhookOutbox: WebhookOutbox { WebhookOutbox(webhooks: environment.config.webhooks) }

    /// Before an update-repo job (when a webhook wants repo.updated): the repository's files and recorded refs.
    func webhookBaseline(for job: Job) async -> WebhookBaseline? {
        guard job.kind == .updateRepo, webhookOutbox.webhooks.contains(where: { $0.wants(.repoUpdated) }),
            let name = job.repo, let repo = environment.config.repos[name]
        else { return nil }
        let refs: [String: String]?
        do {
            refs = try await environment.store.webhookRepoRefs(repo: name)
        } catch {
            environment.logger.warning("Cannot read the recorded refs of \(name): \(String(reflecting: error))")
            refs = nil
        }
        return WebhookBaseline(repo: repo, files: RepoFileSnapshot.take(of: repo.path), refs: refs)
    }

    /// The deliveries for a job that ended with `results`.
    func webhookDrafts(forEnded job: Job, results: String, baseline: WebhookBaseline?) async
        -> [WebhookDelivery.Draft]
    {
        let outbox = webhookOutbox
        guard outbox.isEnabled else { return [] }
        var payload: WebhookPayload
        switch JobContents(kind: job.kind, json: job.contents) {
        case .commit(let buildID, _, _, _):
            payload = await buildPayload(.buildCommitted, job: job, buildID: buildID)
            payload.refs = JobResultRefs.from(results)
        case .publish(let buildID, _):
            payload = await buildPayload(.buildPublished, job: job, buildID: buildID)
            payload.refs = JobResultRefs.from(results)
        case .check(let buildID, let name):
            let check = try? await environment.store.check(jobID: job.id)
            switch check?.status {
            case .reviewRequired(let reason)?:
                payload = await buildPayload(.checkReviewRequired, job: job, buildID: buildID)
                payload.reason = reason
            case .failed(let reason)?:
                payload = await buildPayload(.buildFailed, job: job, buildID: buildID)
                payload.stage = "check"
                payload.reason = reason
            default:
                return []
            }
            payload.checkName = name
        case .updateRepo:
            guard let baseline else { return [] }
            payload = repoUpdatedPayload(job: job, baseline: baseline)
        default:
            return []
        }
        return outbox.drafts(for: payload)
    }

    /// The deliveries for a commit, publish or check job that broke with `message`.
    func webhookDrafts(forBroken job: Job, message: String) async -> [WebhookDelivery.Draft] {
        guard webhookOutbox.isEnabled else { return [] }
        let buildID: Int32
        let stage: String
        var checkName: String?
        switch JobContents(kind: job.kind, json: job.contents) {
        case .commit(let build, _, _, _): (buildID, stage) = (build, "commit")
        case .publish(let build, _): (buildID, stage) = (build, "publish")
        case .check(let build, let name): (buildID, stage, checkName) = (build, "check", name)
        default: return []
        }
        var payload = await buildPayload(.buildFailed, job: job, buildID: buildID)
        payload.stage = stage
        payload.reason = message
        payload.checkName = checkName
        return webhookOutbox.drafts(for: payload)
    }

    /// After an update-repo job's end was recorded: remembers its repository's refs for the next one.
    func recordWebhookBaseline(_ baseline: WebhookBaseline?) async {
        guard let baseline else { return }
        do {
            try await environment.store.setWebhookRepoRefs(
                repo: baseline.repo.name, refs: RepoRefs.read(repo: baseline.repo.path))
        } catch {
            environment.logger.warning(
                "Cannot record the refs of \(baseline.repo.name): \(String(reflecting: error))")
        }
    }

    private func buildPayload(_ event: WebhookEvent, job: Job, buildID: Int32) async -> WebhookPayload {
        var payload = WebhookPayload(event: event, jobID: job.id)
        payload.buildID = buildID
        payload.buildURL = "\(environment.config.baseURL)/api/v1/build/\(buildID)"
        if let build = try? await environment.store.build(id: buildID) {
            payload.repo = build.repo
            payload.repoState = build.repoState.name
        }
        return payload
    }

    private func repoUpdatedPayload(job: Job, baseline: WebhookBaseline) -> WebhookPayload {
        let repo = baseline.repo
        let files = RepoFileSnapshot.take(of: repo.path).changedPaths(since: baseline.files)
        let refs = RepoRefs.changedPaths(before: baseline.refs, after: RepoRefs.read(repo: repo.path))
        var payload = WebhookPayload(event: .repoUpdated, jobID: job.id)
        payload.repo = repo.name
        payload.repoURL = repo.publicURL(serverBaseURL: environment.config.baseURL)
        payload.changedFiles = (files + refs).sorted()
        return payload
    }
}
