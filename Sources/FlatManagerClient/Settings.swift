/// Tunables read from the environment once in `main` (tests shorten the waits).
struct Settings: Sendable {
    /// Longest single wait between retries, seconds (`FLAT_MANAGER_CLIENT_RETRY_CAP`, default 60).
    var retryCap: Double = 60
    /// How long one request keeps being retried, seconds (`FLAT_MANAGER_CLIENT_RETRY_BUDGET`, default 300).
    var retryBudget: Double = 300
    /// Factor on the job polling intervals (`FLAT_MANAGER_CLIENT_POLL_SCALE`, default 1).
    var pollScale: Double = 1
    /// `REPO_TOKEN`.
    var environmentToken: String?

    init() {}

    init(environment: [String: String]) {
        if let cap = environment["FLAT_MANAGER_CLIENT_RETRY_CAP"].flatMap(Double.init) { retryCap = cap }
        if let budget = environment["FLAT_MANAGER_CLIENT_RETRY_BUDGET"].flatMap(Double.init) { retryBudget = budget }
        if let scale = environment["FLAT_MANAGER_CLIENT_POLL_SCALE"].flatMap(Double.init) { pollScale = scale }
        environmentToken = environment["REPO_TOKEN"]
    }
}
