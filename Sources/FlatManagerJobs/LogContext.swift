import Logging

/// Log metadata of the request or job the current task works for.
///
/// Bound by the access-log middleware (request id, build id, repo) and by the dispatcher (job id, build id, repo),
/// and added to every log line by the logging system's metadata provider. That reaches lines written through any
/// logger, including the shared server logger the controllers and the store hold, without threading a request
/// logger through every call.
public enum LogContext {
    @TaskLocal public static var metadata: Logger.Metadata = [:]

    /// The provider the server bootstraps swift-log with.
    public static let provider = Logger.MetadataProvider { metadata }

    /// Runs `body` with `extra` added to the current metadata.
    public static func with<T: Sendable>(
        _ extra: Logger.Metadata, _ body: () async throws -> T
    ) async rethrows -> T {
        try await $metadata.withValue(metadata.merging(extra) { _, new in new }, operation: body)
    }
}
