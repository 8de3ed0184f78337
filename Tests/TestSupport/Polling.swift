import Foundation

/// Waits until `condition` holds, polling; throws after `timeout` with `what` in the message.
package func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw TestSupportError.unexpected("timed out waiting for \(what)")
}
