import FlatManagerCore
import Foundation
import SQLKit
import SystemPackage
import Testing

import func TestSupport.withTemporaryDirectory

@testable import FlatManagerStore

@Suite("Migrations")
struct MigrationTests {
    @Test("Without a URL the store is the SQLite file flat-manager.db in the working directory")
    func defaultStoreIsSQLiteFile() async throws {
        try await withTemporaryDirectory(prefix: "fm-store") { directory in
            let store = try await Store.open(
                databaseURL: nil, workingDirectory: FilePath(directory), logger: TestDatabase.logger)
            try await store.migrate()
            let kind = store.kind
            try await store.close()

            #expect(kind == .sqlite)
            #expect(FileManager.default.fileExists(atPath: directory + "/flat-manager.db"))
        }
    }

    @Test(
        "Running the migrator twice applies everything once and changes nothing the second time",
        arguments: TestDatabase.kinds)
    func migratingTwiceIsIdempotent(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind) { store in
            let build = try await store.makeBuild()

            try await store.migrate()

            let applied = try await store.appliedMigrations()
            #expect(applied == Set(Migrations.all.map(\.version)))
            #expect(try await store.build(id: build.id) == build)
        }
    }

    @Test("An upstream database gets only the missing migrations and keeps its data", arguments: TestDatabase.kinds)
    func upstreamDatabaseIsTakenOver(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind, migrated: false) { store in
            try await store.migrate(Migrations.upstream)
            // Written as upstream 0.4.2 writes it, into its schema (token_branches still a column of builds).
            let branches = kind == .postgres ? "ARRAY['stable','beta']" : "'[\"stable\",\"beta\"]'"
            let created = kind == .postgres ? "now()" : "0"
            try await store.withDatabase { db in
                try await db.raw(
                    """
                    INSERT INTO builds (created_at, repo, app_id, public_download, token_name, token_type, token_branches)
                    VALUES (\(unsafeRaw: created), 'stable', 'org.example.App', false, 'ci', 'app', \(unsafeRaw: branches))
                    """
                ).run()
            }
            let ref = try await store.upsertBuildRef(
                buildID: 1, refName: "app/org.example.App/x86_64/stable", commit: "abc", buildLogURL: nil)
            #expect(try await store.appliedMigrations().count == 16)

            try await store.migrate()

            let applied = try await store.appliedMigrations()
            #expect(applied == Set(Migrations.all.map(\.version)))
            let build = try #require(try await store.build(id: 1))
            #expect(build.appID == "org.example.App" && build.repo == "stable" && !build.publicDownload)
            #expect(build.tokenName == "ci" && build.tokenType == "app")
            #expect(build.tokenBranches == ["stable", "beta"], "the dropped column's data is kept")
            #expect(try await store.buildRefs(buildID: build.id) == [ref])
        }
    }

    @Test(
        "A database upstream 0.5.3 migrated (token_branches dropped, no table of ours) is taken over and works",
        arguments: TestDatabase.kinds)
    func upstream053DatabaseIsTakenOver(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind, migrated: false) { store in
            // Upstream 0.5.3's schema: its migrations, and nothing of ours.
            try await store.migrate(Migrations.upstream + Migrations.newerUpstream)
            try await store.withDatabase { db in try await db.raw("DROP TABLE build_token_branches").run() }

            try await store.migrate()
            let build = try await store.createBuild(
                repo: "stable", appID: "org.example.App", publicDownload: true, buildLogURL: nil, tokenName: "ci",
                tokenType: "app", tokenBranches: ["stable"])

            #expect(try await store.build(id: build.id)?.tokenBranches == ["stable"])
            #expect(try await store.appliedMigrations() == Set(Migrations.all.map(\.version)))
        }
    }

    @Test(
        "A database we created is upstream 0.5.3's schema: every upstream version recorded, no token_branches",
        arguments: TestDatabase.kinds)
    func ourDatabaseIsUpstream053s(kind: DatabaseKind) async throws {
        try await TestDatabase.withStore(kind, migrated: true) { store in
            let columns = try await store.withDatabase { db in
                let rows =
                    kind == .postgres
                    ? try await db.raw(
                        "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'builds'"
                    ).all()
                    : try await db.raw("SELECT name FROM pragma_table_info('builds')").all()
                return try rows.map { try $0.decode(column: "name", as: String.self) }
            }

            #expect(columns.contains("token_type"))
            #expect(!columns.contains("token_branches"))
            let upstreamVersions = Set((Migrations.upstream + Migrations.newerUpstream).map(\.version))
            #expect(upstreamVersions.isSubset(of: try await store.appliedMigrations()))
            #expect(upstreamVersions.contains("20260304120000"))
        }
    }

    @Test("The upstream list carries upstream's sixteen versions in order")
    func upstreamVersionsAreUpstreams() {
        let versions = Migrations.upstream.map(\.version)

        #expect(versions.count == 16)
        #expect(versions.first == "00000000000000")
        #expect(versions.last == "20231102171702")
        #expect(versions == versions.sorted())
    }
}

@Suite("Database URL")
struct DatabaseURLTests {
    @Test("No URL means the SQLite file in the working directory")
    func noURLMeansSQLite() {
        #expect(DatabaseLocation.defaultSQLite(workingDirectory: "/srv/fm") == .sqlite(path: "/srv/fm/flat-manager.db"))
    }

    @Test("A TCP URL yields user, password, host, port and database")
    func tcpURL() throws {
        let location = try DatabaseLocation.parse("postgresql://fm:s%40cret@db.example:6543/repo")

        guard case .postgres(let postgres) = location else {
            Issue.record("not postgres: \(location)")
            return
        }
        #expect(postgres.user == "fm")
        #expect(postgres.password == "s@cret")
        #expect(postgres.host == "db.example")
        #expect(postgres.port == 6543)
        #expect(postgres.database == "repo")
        #expect(postgres.socketPath == nil)
    }

    @Test("A percent-encoded host names the unix socket directory")
    func socketURL() throws {
        let location = try DatabaseLocation.parse("postgres://%2Fvar%2Frun%2Fpostgresql/repo")

        guard case .postgres(let postgres) = location else {
            Issue.record("not postgres: \(location)")
            return
        }
        #expect(postgres.socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(postgres.database == "repo")
    }

    @Test(
        "A unix-socket URL reaches the server, in UTC",
        .enabled(if: TestDatabase.postgresSocketURL != nil, "needs FLAT_MANAGER_TEST_POSTGRES_SOCKET_URL"))
    func socketURLConnects() async throws {
        let url = try #require(TestDatabase.postgresSocketURL)
        let store = try await Store.open(databaseURL: url, workingDirectory: "/", logger: TestDatabase.logger)

        let zone = try await store.withDatabase { db in
            try await db.raw("SELECT current_setting('TimeZone') AS zone").first()?.string("zone")
        }
        try await store.close()

        #expect(zone == "UTC")
    }

    @Test("Other schemes are refused")
    func otherSchemesAreRefused() {
        #expect(throws: StoreError.invalidURL("mysql://x/y")) { try DatabaseLocation.parse("mysql://x/y") }
    }
}
