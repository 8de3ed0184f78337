import FlatManagerCore
import Foundation
import Logging
import SQLKit
import SystemPackage

@testable import FlatManagerStore

/// Fresh databases for tests: a temporary SQLite file always, a new PostgreSQL database per test when
/// `FLAT_MANAGER_TEST_POSTGRES_URL` is set (scripts/with-postgres.sh sets it; CI always does).
enum TestDatabase {
    static let postgresURL = ProcessInfo.processInfo.environment["FLAT_MANAGER_TEST_POSTGRES_URL"]
    /// The same server in libpq's unix-socket URL form, when the test script provides it.
    static let postgresSocketURL = ProcessInfo.processInfo.environment["FLAT_MANAGER_TEST_POSTGRES_SOCKET_URL"]

    /// The engines the parameterised tests run on: PostgreSQL joins when a server is configured, and always under
    /// `FLAT_MANAGER_REQUIRE_ALL_TESTS=1` (CI), where a missing server then fails those cases instead of dropping them.
    static let kinds: [DatabaseKind] = DatabaseKind.allCases.filter {
        $0 == .sqlite || postgresURL != nil
            || ProcessInfo.processInfo.environment["FLAT_MANAGER_REQUIRE_ALL_TESTS"] == "1"
    }

    static let logger: Logger = {
        var logger = Logger(label: "store-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a store on a brand-new database (migrated unless `migrated` is false), closing it after.
    static func withStore<T>(
        _ kind: DatabaseKind, migrated: Bool = true, _ body: (Store) async throws -> T
    ) async throws -> T {
        try await withStores(kind, count: 1, migrated: migrated) { stores in try await body(stores[0]) }
    }

    /// Runs `body` with `count` stores (separate connections, as separate server processes would have) on one
    /// brand-new database, closing them after.
    static func withStores<T>(
        _ kind: DatabaseKind, count: Int, migrated: Bool = true, _ body: ([Store]) async throws -> T
    ) async throws -> T {
        let (url, directory, cleanup) = try await makeDatabase(kind)
        var stores: [Store] = []
        do {
            for _ in 0..<count {
                stores.append(
                    try await Store.open(databaseURL: url, workingDirectory: FilePath(directory), logger: logger))
            }
            if migrated { try await stores[0].migrate() }
            let result = try await body(stores)
            for store in stores { try await store.close() }
            cleanup()
            return result
        } catch {
            for store in stores { try? await store.close() }
            cleanup()
            throw error
        }
    }

    /// The URL (nil: SQLite) and working directory of a new database, and how to remove it.
    private static func makeDatabase(_ kind: DatabaseKind) async throws -> (String?, String, () -> Void) {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fm-store-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return (nil, directory.path, { try? FileManager.default.removeItem(at: directory) })
        case .postgres:
            return (try await createPostgresDatabase(), "/", {})
        }
    }

    /// Creates a uniquely named database on the test server and returns its URL.
    private static func createPostgresDatabase() async throws -> String {
        guard let base = postgresURL, let slash = base.range(of: "/", options: .backwards) else {
            throw StoreError.invalidURL(postgresURL ?? "")
        }
        let name = "fm_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try await Store.open(databaseURL: base, workingDirectory: "/", logger: logger)
        do {
            // Identifiers cannot be bound; the name is generated above.
            try await admin.withDatabase { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        } catch {
            try? await admin.close()
            throw error
        }
        try await admin.close()
        return base[..<slash.lowerBound] + "/" + name
    }
}

extension Store {
    /// Writes a build's states directly, to put it into any state a test needs.
    func force(_ build: Build) async throws {
        try await withDatabase { db in try await updateStates(of: build, in: db) }
    }

    /// A build with default settings.
    func makeBuild(repo: String = "stable", appID: String? = nil) async throws -> Build {
        try await createBuild(
            repo: repo, appID: appID, publicDownload: appID == nil, buildLogURL: nil, tokenName: "test",
            tokenType: "app", tokenBranches: ["stable"])
    }
}
