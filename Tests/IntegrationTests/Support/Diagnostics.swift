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

/// Starts a server on `database`, runs the test, checks that the server still answers, stops it (the set-up of the
/// hostile-input suites).
func withServer(_ database: DatabaseKind, _ body: (TestServer) async throws -> Void) async throws {
    let server = try await TestServer(database: database)
    try await withServerOutputOnFailure(server) {
        try await body(server)
        #expect(await server.isAnswering(), "the server stopped answering GET /status")
    }
    await server.stop()
}
