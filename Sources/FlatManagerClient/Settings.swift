/// Tunables read from the environment once in `main` (tests shorten the waits).
struct Settings: Sendable {
    /// Longest single wait between retries, seconds (`FLAT_MANAGER_CLIENT_RETRY_CAP`, default 60).
    var retryCap: Double = 60
    /// How long one request keeps being retried, seconds (`FLAT_MANAGER_CLIENT_RETRY_BUDGET`, default 300).
    var retryBudget: Double = 300
    /// Factor on the job polling intervals (`FLAT_MANAGER_CLIENT_POLL_SCALE`, default 1).
    var pollScale: Double = 1
    /// Largest upload request body, bytes (`FLAT_MANAGER_CLIENT_BATCH_BYTES`, default 4 MiB like upstream).
    var batchBytes: Int64 = 4 * 1024 * 1024
    /// Most objects in one upload request (`FLAT_MANAGER_CLIENT_BATCH_COUNT`, default 2000).
    var batchCount = 2000
    /// `REPO_TOKEN`.
    var environmentToken: String?

    init() {}

    init(environment: [String: String]) {
        if let cap = Self.seconds(environment["FLAT_MANAGER_CLIENT_RETRY_CAP"]) { retryCap = cap }
        if let budget = Self.seconds(environment["FLAT_MANAGER_CLIENT_RETRY_BUDGET"]) { retryBudget = budget }
        if let scale = Self.seconds(environment["FLAT_MANAGER_CLIENT_POLL_SCALE"]) { pollScale = scale }
        if let bytes = environment["FLAT_MANAGER_CLIENT_BATCH_BYTES"].flatMap(Int64.init), bytes > 0 {
            batchBytes = bytes
        }
        if let count = environment["FLAT_MANAGER_CLIENT_BATCH_COUNT"].flatMap(Int.init), count > 0 {
            batchCount = count
        }
        environmentToken = environment["REPO_TOKEN"]
    }

    /// A number of seconds (or a factor on them) that the waits can use; nil (keep the default, like any other
    /// unparsable value) for NaN, infinities, negatives and more than a day: `Double.random(in: 0...x)` and
    /// `Duration.seconds(_:)` trap on those.
    static func seconds(_ text: String?) -> Double? {
        guard let value = text.flatMap(Double.init), value.isFinite, (0...86_400).contains(value) else { return nil }
        return value
    }
}
