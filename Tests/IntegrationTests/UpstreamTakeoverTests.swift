import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Moving from upstream (issue #12): a PostgreSQL database in the shape upstream 0.4.2, 0.5.0 or 0.5.3 left it
/// (written here from the spec's schema facts, server.md §2, not by our migrator) is taken over at start-up: its
/// published build stays readable, and a whole push → commit → publish → flatpak install works on top.
@Suite("Upstream database takeover", .enabled(if: TestEnvironment.hasOSTree))
struct UpstreamTakeoverTests {
    /// The upstream release whose schema the database has.
    enum UpstreamSchema: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case v042 = "0.4.2"
        case v050 = "0.5.0"
        case v053 = "0.5.3"

        var testDescription: String { rawValue }

        /// The versions in upstream's bookkeeping table.
        var versions: [String] {
            let base = [
                "00000000000000", "20181023152211", "20181023152228", "20181023152240", "20181102103939",
                "20190124101838", "20190204135447", "20190307075207", "20190307094436", "20220805212616",
                "20220906002415", "20221214225546", "20230331195311", "20230614145148", "20231102164215",
                "20231102171702",
            ]
            switch self {
            case .v042: return base
            case .v050: return base + ["20250214115440"]
            case .v053: return base + ["20250214115440", "20260304120000"]
            }
        }

        /// The schema and one published build with its commit and publish jobs and a ref.
        var sql: String {
            let branchesColumn = self == .v053 ? "" : ", token_branches TEXT[]"
            let branchesName = self == .v053 ? "" : ", token_branches"
            let branchesValue = self == .v053 ? "" : ", ARRAY['stable']"
            let kindCheck =
                self == .v042 ? "" : "ALTER TABLE jobs ADD CONSTRAINT chk_job_kind CHECK (kind IN (0,1,2,3,4,5));"
            let recorded = versions.map { "('\($0)')" }.joined(separator: ", ")
            return """
                CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY,
                    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE jobs (id SERIAL PRIMARY KEY, kind SMALLINT NOT NULL DEFAULT 0,
                    status SMALLINT NOT NULL DEFAULT 0, contents TEXT NOT NULL, results TEXT,
                    log TEXT NOT NULL DEFAULT '', start_after TIMESTAMP, repo TEXT);
                CREATE TABLE builds (id SERIAL PRIMARY KEY, created_at TIMESTAMP NOT NULL DEFAULT now(),
                    repo_state SMALLINT NOT NULL DEFAULT 0, repo_state_reason TEXT,
                    published_state SMALLINT NOT NULL DEFAULT 0, published_state_reason TEXT,
                    commit_job_id INTEGER REFERENCES jobs (id), publish_job_id INTEGER REFERENCES jobs (id),
                    repo TEXT NOT NULL DEFAULT 'stable', extra_ids TEXT[] NOT NULL DEFAULT '{}', app_id TEXT,
                    public_download BOOLEAN NOT NULL DEFAULT true, build_log_url TEXT, token_name TEXT,
                    token_type TEXT\(branchesColumn));
                CREATE TABLE build_refs (id SERIAL PRIMARY KEY, build_id INTEGER NOT NULL REFERENCES builds (id),
                    ref_name TEXT NOT NULL, commit TEXT NOT NULL, build_log_url TEXT);
                CREATE UNIQUE INDEX build_refs_index ON build_refs (ref_name, build_id);
                CREATE TABLE published_refs (id SERIAL PRIMARY KEY, build_id INTEGER NOT NULL REFERENCES builds (id),
                    ref_name TEXT NOT NULL, commit TEXT NOT NULL);
                CREATE UNIQUE INDEX published_refs_index ON published_refs (ref_name, build_id);
                CREATE TABLE job_dependencies (job_id INTEGER NOT NULL REFERENCES jobs (id),
                    depends_on INTEGER NOT NULL REFERENCES jobs (id), PRIMARY KEY (job_id, depends_on));
                CREATE VIEW job_dependencies_with_status AS SELECT job_dependencies.job_id,
                    job_dependencies.depends_on, jobs.status AS dependant_status
                    FROM job_dependencies INNER JOIN jobs ON job_dependencies.depends_on = jobs.id;
                CREATE TABLE checks (check_name TEXT NOT NULL, build_id INTEGER NOT NULL REFERENCES builds (id),
                    job_id INTEGER NOT NULL UNIQUE REFERENCES jobs (id), status SMALLINT NOT NULL DEFAULT 0,
                    status_reason TEXT, results TEXT, PRIMARY KEY (check_name, build_id));
                CREATE INDEX checks_build_id ON checks (build_id);
                CREATE TABLE tokens (token_id TEXT PRIMARY KEY, expires TIMESTAMP, last_used TIMESTAMP,
                    revoked_at TIMESTAMP);
                \(kindCheck)
                INSERT INTO __diesel_schema_migrations (version) VALUES \(recorded);
                INSERT INTO jobs (kind, status, contents, results) VALUES (0, 2, '{"build":1}', '{}');
                INSERT INTO jobs (kind, status, contents, results, repo) VALUES (1, 2, '{"build":1}', '{}', 'stable');
                INSERT INTO builds (repo_state, published_state, commit_job_id, publish_job_id, app_id,
                    public_download, token_name, token_type\(branchesName))
                    VALUES (2, 2, 1, 2, 'org.test.Before', false, 'ci', 'app'\(branchesValue));
                INSERT INTO build_refs (build_id, ref_name, commit)
                    VALUES (1, 'app/org.test.Before/x86_64/stable', '\(String(repeating: "ab", count: 32))');
                """
        }
    }

    @Test(
        "an upstream database is taken over: its published build stays readable and a new build installs",
        .enabled(if: TestEnvironment.hasPostgres), arguments: UpstreamSchema.allCases)
    func takeover(schema: UpstreamSchema) async throws {
        // Arrange
        let psql = try Management.tool("psql")
        let server = try await TestServer(database: .postgres) { url in
            try await ProcessRunner.check(psql, [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", schema.sql])
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let user = try FlatpakUser()

            // Act
            let before = try await Management.object(server, "GET", "/api/v1/build/1/extended", token: token)
            let oldJob = try await Management.object(server, "GET", "/api/v1/job/2", token: token)
            let buildURL = try await publish(version: "1", to: server, with: client)
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let output = try await user.run(FixtureRepo.appID)
            let status = try await HTTP.request("GET", server.url("/status/build/1"), token: token)

            // Assert
            let build = before["build"] as? [String: Any] ?? [:]
            #expect(build["app_id"] as? String == "org.test.Before", "\(before)")
            #expect(build["published_state"] as? Int == 2)
            #expect((before["build_refs"] as? [Any])?.count == 1)
            #expect(oldJob["status"] as? Int == 2)
            #expect(try Management.buildID(buildURL) == 2, "the new build follows the old one's id")
            #expect(output == "Hello 1")
            #expect(status.status == 200)
        }
        await server.stop()
    }
}
