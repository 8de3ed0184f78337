import Foundation
import Testing

/// Runs a test body against a server; when it throws, the failure also shows everything the server printed.
package func withServerOutputOnFailure<T>(_ server: TestServer, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        let output = await server.output()
        Issue.record("\(error)\n\(output)")
        throw error
    }
}

/// Starts a `TestServer` (the arguments are its initialiser's), runs the test with it, then stops it; when the
/// test throws, the failure shows everything the server printed (and the server is killed when released).
package func withTestServer(
    database: DatabaseKind, extraPath: [URL] = [], environment: [String: String] = [:],
    binaryDirectory: URL? = nil, prepareDatabase: (@Sendable (String) async throws -> Void)? = nil,
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer(
        database: database, extraPath: extraPath, environment: environment, binaryDirectory: binaryDirectory,
        prepareDatabase: prepareDatabase)
    try await withServerOutputOnFailure(server) { try await body(server) }
    await server.stop()
}

/// Starts a server on `database`, runs the test, checks that the server still answers, stops it (the set-up of the
/// hostile-input suites).
package func withServer(_ database: DatabaseKind, _ body: (TestServer) async throws -> Void) async throws {
    try await withTestServer(database: database) { server in
        try await body(server)
        #expect(await server.isAnswering(), "the server stopped answering GET /status")
    }
}
