import FlatManagerCore
import Foundation

/// The JSON body of a webhook delivery. Members that do not apply to an event are left out.
///
/// `event`, `timestamp` (UTC, ISO 8601) and `job_id` are always there; build events carry `build_id`,
/// `build_url` and `repo`; `refs` maps each ref to its commit (the build repository's for build.committed, the main
/// repository's for build.published); build.failed says at which `stage` (`commit`, `publish`, `check`) and why
/// (`reason`); check.review-required names the check; repo.updated lists `changed_files` relative to `repo_url`.
struct WebhookPayload: Encodable, Sendable, Equatable {
    var event: WebhookEvent
    var timestamp: String
    var jobID: Int32
    var repo: String?
    var buildID: Int32?
    var buildURL: String?
    var repoURL: String?
    var refs: [String: String]?
    var repoState: String?
    var stage: String?
    var reason: String?
    var checkName: String?
    var changedFiles: [String]?

    enum CodingKeys: String, CodingKey {
        case event, timestamp, repo, refs, stage, reason
        case jobID = "job_id"
        case buildID = "build_id"
        case buildURL = "build_url"
        case repoURL = "repo_url"
        case repoState = "repo_state"
        case checkName = "check_name"
        case changedFiles = "changed_files"
    }

    init(event: WebhookEvent, jobID: Int32, at time: Timestamp = .now()) {
        self.event = event
        self.jobID = jobID
        self.timestamp = time.naiveString + "Z"
    }

    /// The exact body text: keys sorted, slashes not escaped.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Turns events into outbox rows: one per configured webhook that asks for the event.
struct WebhookOutbox: Sendable {
    let webhooks: [WebhookConfig]

    var isEnabled: Bool { !webhooks.isEmpty }

    func drafts(for payload: WebhookPayload) -> [WebhookDelivery.Draft] {
        let body = payload.json()
        return webhooks.filter { $0.wants(payload.event) }.map { webhook in
            WebhookDelivery.Draft(
                event: payload.event, url: webhook.url, body: body, repo: payload.repo, buildID: payload.buildID,
                jobID: payload.jobID)
        }
    }
}

/// The `refs` member of a commit or publish job's results (`{"refs": {...}, ...}`).
struct JobResultRefs: Decodable {
    var refs: [String: String]?

    static func from(_ results: String) -> [String: String]? {
        (try? JSONDecoder().decode(JobResultRefs.self, from: Data(results.utf8)))?.refs
    }
}
