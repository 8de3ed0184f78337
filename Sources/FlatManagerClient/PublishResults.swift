import FlatManagerCore
import Foundation

/// The one member of a finished publish job's `results` the client acts on (client.md A.7.2 step 14).
///
/// The results themselves are a JSON document inside the job's `results` string; the output shows them parsed but
/// otherwise as the server wrote them (`JSON.jobResult`). The job results are typed in Jobs, which the client may
/// not import; should the publish result move to Core, this becomes that type.
struct PublishResults: Decodable, Sendable {
    /// The repository update job the publish queued, if any.
    var updateRepoJob: Int64?

    enum CodingKeys: String, CodingKey {
        case updateRepoJob = "update-repo-job"
    }

    /// The results of `job`; nil when it has none or they are not a JSON object.
    init?(of job: Job) {
        guard let text = job.results,
            let results = try? JSONDecoder().decode(Self.self, from: Data(text.utf8))
        else { return nil }
        self = results
    }
}
