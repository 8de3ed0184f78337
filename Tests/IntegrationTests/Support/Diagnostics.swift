import Foundation
import Testing

/// Runs a test body against a server; when it throws, the failure also shows everything the server printed.
func withServerOutputOnFailure<T>(_ server: TestServer, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        let output = await server.output()
        Issue.record("\(error)\n\(output)")
        throw error
    }
}
