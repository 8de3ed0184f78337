import Foundation
import Testing

/// What the integration tests need from the machine, and the switch that turns "missing" into "failed".
///
/// Tests declare their prerequisites with `.enabled(if: TestEnvironment.hasOSTree)` (or `hasPostgres`). Locally a
/// missing tool skips the test; with `FLAT_MANAGER_REQUIRE_ALL_TESTS=1` (set by scripts/test.sh, hence in CI) the
/// conditions are always true, so the test runs and fails at the first use of the missing tool, with
/// `TestSupportError.missingPrerequisite` naming it.
package enum TestEnvironment {
    /// The process environment of the test run.
    package static let environment = ProcessInfo.processInfo.environment

    /// True when `FLAT_MANAGER_REQUIRE_ALL_TESTS=1`: prerequisites must be present, never skipped.
    package static let requiresAllTests = environment["FLAT_MANAGER_REQUIRE_ALL_TESTS"] == "1"

    /// The programs the ostree/flatpak tests run, and the static busybox the fixture runtime is made of.
    package static let ostreeTools = ["ostree", "flatpak", "bwrap"]

    /// Condition for tests that need ostree, flatpak, bubblewrap and busybox-static.
    package static var hasOSTree: Bool { requiresAllTests || missingOSTreePrerequisites().isEmpty }

    /// Condition for tests that need a PostgreSQL server (FLAT_MANAGER_TEST_POSTGRES_URL) and `psql`.
    package static var hasPostgres: Bool { requiresAllTests || missingPostgresPrerequisites().isEmpty }

    /// The URL of the throw-away PostgreSQL server that scripts/with-postgres.sh starts, if any.
    package static var postgresURL: String? {
        guard let url = environment["FLAT_MANAGER_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// The databases a database-parameterised test runs against: SQLite always, PostgreSQL when available or
    /// required (so that under FLAT_MANAGER_REQUIRE_ALL_TESTS a missing server fails the PostgreSQL case).
    package static var databases: [DatabaseKind] { hasPostgres ? [.sqlite, .postgres] : [.sqlite] }

    /// Throws unless ostree, flatpak, bubblewrap and a static busybox are present.
    package static func requireOSTree() throws {
        let missing = missingOSTreePrerequisites()
        guard missing.isEmpty else { throw TestSupportError.missingPrerequisite(missing.joined(separator: ", ")) }
    }

    /// Throws unless a PostgreSQL server URL and `psql` are available; returns the URL.
    package static func requirePostgres() throws -> String {
        let missing = missingPostgresPrerequisites()
        guard missing.isEmpty, let url = postgresURL else {
            throw TestSupportError.missingPrerequisite(missing.joined(separator: ", "))
        }
        return url
    }

    package static func missingOSTreePrerequisites() -> [String] {
        var missing = ostreeTools.filter { executable(named: $0) == nil }
        if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { missing.append("/bin/busybox") }
        return missing
    }

    package static func missingPostgresPrerequisites() -> [String] {
        var missing: [String] = []
        if postgresURL == nil { missing.append("FLAT_MANAGER_TEST_POSTGRES_URL") }
        if executable(named: "psql") == nil { missing.append("psql") }
        return missing
    }

    /// The first executable called `name` on `PATH` (like `command -v`).
    package static func executable(named name: String, path: String? = TestEnvironment.environment["PATH"]) -> URL? {
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for directory in directories where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// The repository root, found from this source file (Tests/IntegrationTests/Support/TestEnvironment.swift).
    package static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// A script of ours under scripts/.
    package static func script(_ name: String) -> URL {
        repositoryRoot.appendingPathComponent("scripts").appendingPathComponent(name)
    }
}

/// The two database back ends the server supports; tests that touch the database run against both.
package enum DatabaseKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    package var testDescription: String { rawValue }
}

/// Why the harness could not do what a test asked.
package enum TestSupportError: Error, CustomStringConvertible {
    case missingPrerequisite(String)
    case binaryNotFound(name: String, searched: [String])
    case commandFailed(command: String, status: Int32, stdout: String, stderr: String)
    case timedOut(String)
    case serverFailed(String)
    case unexpected(String)

    package var description: String {
        switch self {
        case .missingPrerequisite(let what):
            "missing test prerequisite: \(what) (run `bash scripts/install-deps.sh --test`, and run the tests "
                + "through scripts/with-postgres.sh for PostgreSQL)"
        case .binaryNotFound(let name, let searched):
            "no executable '\(name)' found in or above: \(searched.joined(separator: ", "))"
        case .commandFailed(let command, let status, let stdout, let stderr):
            "`\(command)` exited with \(status)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
        case .timedOut(let what):
            "timed out: \(what)"
        case .serverFailed(let details):
            "flat-manager failed: \(details)"
        case .unexpected(let details):
            details
        }
    }
}
