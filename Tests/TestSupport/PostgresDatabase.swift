import Foundation

/// Fresh PostgreSQL databases on the test server that scripts/with-postgres.sh started, one per test server,
/// so tests running in parallel never see each other's rows.
package enum PostgresDatabase {
    /// Creates a database with a unique name and returns its URL (the server URL with the database replaced).
    package static func create(serverURL: String) async throws -> String {
        guard let psql = TestEnvironment.executable(named: "psql") else {
            throw TestSupportError.missingPrerequisite("psql")
        }
        let name = "fm_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await ProcessRunner.check(
            psql, [serverURL, "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \"\(name)\""],
            timeout: .seconds(60))
        return url(serverURL, replacingDatabaseWith: name)
    }

    /// `postgres://user@host:5432/old?sslmode=disable` → `postgres://user@host:5432/NAME?sslmode=disable`; also
    /// for URLs without a database path and for the percent-encoded unix-socket host form.
    package static func url(_ url: String, replacingDatabaseWith name: String) -> String {
        let queryStart = url.firstIndex(of: "?") ?? url.endIndex
        let query = url[queryStart...]
        let beforeQuery = url[..<queryStart]
        guard let schemeEnd = beforeQuery.range(of: "://") else { return url }
        let authorityAndPath = beforeQuery[schemeEnd.upperBound...]
        let authority = authorityAndPath.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return String(beforeQuery[..<schemeEnd.upperBound]) + authority + "/" + name + query
    }
}
