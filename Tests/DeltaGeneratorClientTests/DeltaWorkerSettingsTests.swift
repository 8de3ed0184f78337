import Foundation
import TestSupport
import Testing

/// `delta-generator-client` reads its settings from the environment: a value it cannot wait for is a clear
/// start-up error, not a crash later (issue #10).
@Suite("delta-generator-client settings", .enabled(if: BinarySupport.path(of: "delta-generator-client") != nil))
struct DeltaWorkerSettingsTests {
    @Test(
        "a prune interval that is not a whole number of seconds up to Int32.max stops the worker at start",
        // Only values that crashed before: with a usable interval the worker would run (and this test wait) forever.
        arguments: ["9223372036854775807", "9223372036854775806"])
    func unusablePruneIntervalIsAStartupError(value: String) async throws {
        // Arrange: WORKDIR does not exist yet (the worker makes it), inside a directory removed afterwards.
        let outcome = try await withTemporaryDirectory(prefix: "delta-worker") { directory in
            // Act
            try BinarySupport.run(
                "delta-generator-client", [],
                environment: [
                    "REPO_TOKEN": "t", "MANAGER_URL": "http://127.0.0.1:1", "WORKDIR": directory + "/work",
                    "PRUNE_INTERVAL_SECS": value,
                ])
        }

        // Assert
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("PRUNE_INTERVAL_SECS"), "\(outcome.stderr)")
    }
}
