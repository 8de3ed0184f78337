/// One schema change, recorded by `version` in `__diesel_schema_migrations` (upstream's bookkeeping table).
///
/// Numbered and append-only: a landed migration is never edited, a change is a new entry.
struct Migration: Sendable {
    let version: String
    /// What it does, for the log.
    let name: String
    let postgres: [String]
    let sqlite: [String]

    /// A migration whose SQL is the same on both engines.
    init(_ version: String, _ name: String, both statements: [String]) {
        self.init(version, name, postgres: statements, sqlite: statements)
    }

    init(_ version: String, _ name: String, postgres: [String], sqlite: [String]) {
        self.version = version
        self.name = name
        self.postgres = postgres
        self.sqlite = sqlite
    }
}

/// The schema: upstream's 16 reference migrations with upstream's versions (server.md §2.1), so an existing
/// upstream PostgreSQL database gets only what it lacks; then 0.5's job-kind check; then our own additions.
///
/// SQLite differences: INTEGER PRIMARY KEY AUTOINCREMENT for serial ids, INTEGER microseconds for timestamps,
/// JSON text for `text[]`, 0/1 for booleans; SQLite cannot add a constraint to an existing table, so the
/// job-kind check is PostgreSQL only.
enum Migrations {
    static let upstream: [Migration] = [
        Migration("00000000000000", "diesel setup", postgres: dieselSetup, sqlite: []),
        Migration(
            "20181023152211", "create builds",
            postgres: [
                """
                CREATE TABLE builds (id SERIAL PRIMARY KEY, created_at TIMESTAMP NOT NULL DEFAULT now(),
                repo_state SMALLINT NOT NULL DEFAULT 0, repo_state_reason TEXT,
                published_state SMALLINT NOT NULL DEFAULT 0, published_state_reason TEXT)
                """
            ],
            sqlite: [
                """
                CREATE TABLE builds (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL,
                repo_state SMALLINT NOT NULL DEFAULT 0, repo_state_reason TEXT,
                published_state SMALLINT NOT NULL DEFAULT 0, published_state_reason TEXT)
                """
            ]),
        Migration(
            "20181023152228", "create build_refs",
            postgres: [refsTable("build_refs", id: "SERIAL PRIMARY KEY"), refsIndex("build_refs")],
            sqlite: [refsTable("build_refs", id: "INTEGER PRIMARY KEY AUTOINCREMENT"), refsIndex("build_refs")]),
        Migration(
            "20181023152240", "create published_refs",
            postgres: [refsTable("published_refs", id: "SERIAL PRIMARY KEY"), refsIndex("published_refs")],
            sqlite: [
                refsTable("published_refs", id: "INTEGER PRIMARY KEY AUTOINCREMENT"), refsIndex("published_refs"),
            ]),
        Migration(
            "20181102103939", "create jobs",
            postgres: jobs(id: "SERIAL PRIMARY KEY"), sqlite: jobs(id: "INTEGER PRIMARY KEY AUTOINCREMENT")),
        Migration(
            "20190124101838", "add builds.repo",
            both: ["ALTER TABLE builds ADD COLUMN repo TEXT NOT NULL DEFAULT 'stable'"]),
        Migration(
            "20190204135447", "add builds.extra_ids",
            postgres: ["ALTER TABLE builds ADD COLUMN extra_ids TEXT[] NOT NULL DEFAULT '{}'"],
            sqlite: ["ALTER TABLE builds ADD COLUMN extra_ids TEXT NOT NULL DEFAULT '[]'"]),
        Migration(
            "20190307075207", "add jobs.start_after",
            postgres: ["ALTER TABLE jobs ADD COLUMN start_after TIMESTAMP"],
            sqlite: ["ALTER TABLE jobs ADD COLUMN start_after INTEGER"]),
        Migration("20190307094436", "add jobs.repo", both: ["ALTER TABLE jobs ADD COLUMN repo TEXT"]),
        Migration("20220805212616", "add builds.app_id", both: ["ALTER TABLE builds ADD COLUMN app_id TEXT"]),
        Migration(
            "20220906002415", "add builds.public_download",
            postgres: ["ALTER TABLE builds ADD COLUMN public_download BOOLEAN NOT NULL DEFAULT true"],
            sqlite: ["ALTER TABLE builds ADD COLUMN public_download BOOLEAN NOT NULL DEFAULT 1"]),
        Migration("20221214225546", "create checks", both: checks),
        Migration(
            "20230331195311", "create tokens",
            postgres: [
                """
                CREATE TABLE tokens (token_id TEXT PRIMARY KEY, expires TIMESTAMP, last_used TIMESTAMP,
                revoked_at TIMESTAMP)
                """
            ],
            sqlite: [
                """
                CREATE TABLE tokens (token_id TEXT PRIMARY KEY, expires INTEGER, last_used INTEGER,
                revoked_at INTEGER)
                """
            ]),
        Migration(
            "20230614145148", "add build_log_url",
            both: [
                "ALTER TABLE builds ADD COLUMN build_log_url TEXT",
                "ALTER TABLE build_refs ADD COLUMN build_log_url TEXT",
            ]),
        Migration("20231102164215", "add builds.token_name", both: ["ALTER TABLE builds ADD COLUMN token_name TEXT"]),
        Migration(
            "20231102171702", "add builds.token_type and token_branches",
            postgres: [
                "ALTER TABLE builds ADD COLUMN token_type TEXT",
                "ALTER TABLE builds ADD COLUMN token_branches TEXT[]",
            ],
            sqlite: [
                "ALTER TABLE builds ADD COLUMN token_type TEXT",
                "ALTER TABLE builds ADD COLUMN token_branches TEXT",
            ]),
    ]

    /// 0.5's check constraint on job kinds (kind 5 = prune), and 0.5.3's drop of `builds.token_branches` (server.md
    /// §8), so that a database we migrated is one upstream 0.5.3 accepts unchanged and one it migrated is ours too.
    /// The branches are kept (copied first) in our own `build_token_branches`, which the build JSON still reads.
    static let newerUpstream: [Migration] = [
        Migration(
            "20250214115440", "check job kinds",
            postgres: ["ALTER TABLE jobs ADD CONSTRAINT chk_job_kind CHECK (kind IN (0, 1, 2, 3, 4, 5))"],
            sqlite: []),
        Migration(
            "20260304120000", "drop builds.token_branches (kept in build_token_branches)",
            postgres: [
                buildTokenBranches(branches: "TEXT[]"),
                """
                INSERT INTO build_token_branches (build_id, branches)
                SELECT id, token_branches FROM builds WHERE token_branches IS NOT NULL ON CONFLICT DO NOTHING
                """,
                "ALTER TABLE builds DROP COLUMN token_branches",
            ],
            sqlite: [
                buildTokenBranches(branches: "TEXT"),
                """
                INSERT OR IGNORE INTO build_token_branches (build_id, branches)
                SELECT id, token_branches FROM builds WHERE token_branches IS NOT NULL
                """,
                "ALTER TABLE builds DROP COLUMN token_branches",
            ]),
    ]

    /// Ours: the non-empty `branches` claim of the token that created a build (upstream's dropped column).
    static func buildTokenBranches(branches type: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS build_token_branches (build_id INTEGER PRIMARY KEY REFERENCES builds(id),
        branches \(type) NOT NULL)
        """
    }

    /// Our own additions. Versions are not numeric so they can never collide with a future upstream version.
    static let ours: [Migration] = [
        Migration(
            "swift-0001-job-leases", "create job_leases",
            postgres: [
                """
                CREATE TABLE job_leases (job_id INTEGER PRIMARY KEY REFERENCES jobs(id), owner TEXT NOT NULL,
                expires_at TIMESTAMP NOT NULL)
                """,
                "CREATE INDEX job_leases_owner ON job_leases (owner)",
                "CREATE INDEX jobs_status_repo ON jobs (status, repo)",
            ],
            sqlite: [
                """
                CREATE TABLE job_leases (job_id INTEGER PRIMARY KEY REFERENCES jobs(id), owner TEXT NOT NULL,
                expires_at INTEGER NOT NULL)
                """,
                "CREATE INDEX job_leases_owner ON job_leases (owner)",
                "CREATE INDEX jobs_status_repo ON jobs (status, repo)",
            ]),
        // For a database upstream 0.5.3 migrated: it dropped the column without our table.
        Migration(
            "swift-0002-build-token-branches", "create build_token_branches",
            postgres: [buildTokenBranches(branches: "TEXT[]")], sqlite: [buildTokenBranches(branches: "TEXT")]),
        Migration(
            "swift-0003-resumable-jobs", "create job_resumes, job_checkpoints, build_purges, build_cleanups",
            postgres: resumableJobs(time: "TIMESTAMP"), sqlite: resumableJobs(time: "INTEGER")),
        // Fencing tokens (Store+Leases.swift): every claim draws the next value of one counter.
        Migration(
            "swift-0004-job-lease-generation", "add job_leases.generation and its counter",
            postgres: [
                "ALTER TABLE job_leases ADD COLUMN generation BIGINT NOT NULL DEFAULT 0",
                "CREATE SEQUENCE job_lease_generation",
            ],
            sqlite: [
                "ALTER TABLE job_leases ADD COLUMN generation INTEGER NOT NULL DEFAULT 0",
                "CREATE TABLE job_lease_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)",
                "INSERT INTO job_lease_generation (id, value) VALUES (1, 0)",
            ]),
        // Downgrade protection (Store+RefTimestamps.swift): the uploaded commits' timestamps.
        Migration(
            "swift-0005-ref-source-timestamps", "create build_ref_source_timestamps, ref_source_timestamps",
            postgres: refSourceTimestamps, sqlite: refSourceTimestamps),
        // Webhooks (Store+WebhookDeliveries.swift): the outbox the delivery service drains.
        Migration(
            "swift-0006-webhook-outbox", "create webhook_deliveries and webhook_repo_refs",
            postgres: webhookOutbox(id: "SERIAL PRIMARY KEY", time: "TIMESTAMP"),
            sqlite: webhookOutbox(id: "INTEGER PRIMARY KEY AUTOINCREMENT", time: "INTEGER")),
        // Issue #15: the rollback job kind (100) passes the kind check, and the retention schedule records when
        // it last queued a prune of each repo (several processes may share the database; Store+Retention.swift).
        Migration(
            "swift-0007-rollback-retention", "allow job kind 100, create retention_prunes",
            postgres: [
                "ALTER TABLE jobs DROP CONSTRAINT IF EXISTS chk_job_kind",
                "ALTER TABLE jobs ADD CONSTRAINT chk_job_kind CHECK (kind IN (0, 1, 2, 3, 4, 5, 100))",
                "CREATE TABLE retention_prunes (repo TEXT PRIMARY KEY, queued_at TIMESTAMP NOT NULL, job_id INTEGER)",
            ],
            sqlite: [
                "CREATE TABLE retention_prunes (repo TEXT PRIMARY KEY, queued_at INTEGER NOT NULL, job_id INTEGER)"
            ]),
        // The dashboard's times (Store+Dashboard.swift): upstream's jobs have no timestamps.
        Migration(
            "swift-0008-job-times", "create job_times",
            postgres: [jobTimes(time: "TIMESTAMP")], sqlite: [jobTimes(time: "INTEGER")]),
    ]

    /// Ours: the timestamp of each build ref's uploaded commit (recorded by the commit job, before the commit job
    /// re-stamps it), and per repo and ref the one of the build that last made the ref current (that build's id is
    /// informational, not a foreign key, so that removing old builds never has to touch this table).
    static let refSourceTimestamps = [
        """
        CREATE TABLE build_ref_source_timestamps (build_id INTEGER NOT NULL REFERENCES builds(id),
        ref_name TEXT NOT NULL, source_timestamp BIGINT NOT NULL, PRIMARY KEY (build_id, ref_name))
        """,
        """
        CREATE TABLE ref_source_timestamps (repo TEXT NOT NULL, ref_name TEXT NOT NULL,
        source_timestamp BIGINT NOT NULL, build_id INTEGER NOT NULL, PRIMARY KEY (repo, ref_name))
        """,
    ]

    /// Ours: one row per webhook delivery, written in the transaction that ends the job causing it, with its
    /// attempts and the claim (`lease_owner`, `lease_expires_at`) of the process sending it.
    static func webhookOutbox(id: String, time: String) -> [String] {
        [
            """
            CREATE TABLE webhook_deliveries (id \(id), delivery_id TEXT NOT NULL UNIQUE, event TEXT NOT NULL,
            url TEXT NOT NULL, body TEXT NOT NULL, repo TEXT, build_id INTEGER, job_id INTEGER,
            state SMALLINT NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, created_at \(time) NOT NULL,
            next_attempt_at \(time) NOT NULL, last_attempt_at \(time), last_status INTEGER, last_error TEXT,
            lease_owner TEXT, lease_expires_at \(time))
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
            // The refs (name → commit, JSON) of each main repository as the last update-repo job left them, so the
            // next one's repo.updated names the refs that changed since (publish writes them, update-repo does not).
            "CREATE TABLE webhook_repo_refs (repo TEXT PRIMARY KEY, refs TEXT NOT NULL)",
        ]
    }

    /// Ours: when each job was queued, last started and ended (NULL: not yet, or before this table existed).
    static func jobTimes(time: String) -> String {
        """
        CREATE TABLE job_times (job_id INTEGER PRIMARY KEY REFERENCES jobs(id), queued_at \(time),
        started_at \(time), ended_at \(time))
        """
    }

    /// Ours: how often each job was resumed after an interruption, what its steps recorded while they ran (so that
    /// a resumed job skips what already happened), which process purges a build, and when the cleanup sweep
    /// first saw a failed or purged build and when it removed its directory.
    static func resumableJobs(time: String) -> [String] {
        [
            """
            CREATE TABLE job_resumes (job_id INTEGER PRIMARY KEY REFERENCES jobs(id),
            resumes INTEGER NOT NULL DEFAULT 0)
            """,
            """
            CREATE TABLE job_checkpoints (job_id INTEGER NOT NULL REFERENCES jobs(id), step TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (job_id, step))
            """,
            """
            CREATE TABLE build_purges (build_id INTEGER PRIMARY KEY REFERENCES builds(id), owner TEXT NOT NULL,
            started_at \(time) NOT NULL)
            """,
            """
            CREATE TABLE build_cleanups (build_id INTEGER PRIMARY KEY REFERENCES builds(id),
            seen_at \(time) NOT NULL, removed_at \(time))
            """,
        ]
    }

    /// Every migration, in the order it is applied.
    static let all: [Migration] = upstream + newerUpstream + ours

    private static let dieselSetup = [
        """
        CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
        BEGIN
            EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                            FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
        BEGIN
            IF (NEW IS DISTINCT FROM OLD AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) THEN
                NEW.updated_at := current_timestamp;
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """,
    ]

    private static func refsTable(_ table: String, id: String) -> String {
        """
        CREATE TABLE \(table) (id \(id), build_id INTEGER NOT NULL REFERENCES builds(id),
        ref_name TEXT NOT NULL, "commit" TEXT NOT NULL)
        """
    }

    private static func refsIndex(_ table: String) -> String {
        "CREATE UNIQUE INDEX \(table)_index ON \(table) (ref_name, build_id)"
    }

    private static func jobs(id: String) -> [String] {
        [
            """
            CREATE TABLE jobs (id \(id), kind SMALLINT NOT NULL DEFAULT 0, status SMALLINT NOT NULL DEFAULT 0,
            contents TEXT NOT NULL, results TEXT, log TEXT NOT NULL DEFAULT '')
            """,
            """
            CREATE TABLE job_dependencies (job_id INTEGER NOT NULL REFERENCES jobs(id),
            depends_on INTEGER NOT NULL REFERENCES jobs(id), PRIMARY KEY (job_id, depends_on))
            """,
            """
            CREATE VIEW job_dependencies_with_status AS
            SELECT job_dependencies.job_id, job_dependencies.depends_on, jobs.status AS dependant_status
            FROM job_dependencies INNER JOIN jobs ON job_dependencies.depends_on = jobs.id
            """,
            "ALTER TABLE builds ADD COLUMN commit_job_id INTEGER REFERENCES jobs(id)",
            "ALTER TABLE builds ADD COLUMN publish_job_id INTEGER REFERENCES jobs(id)",
        ]
    }

    private static let checks = [
        """
        CREATE TABLE checks (check_name TEXT NOT NULL, build_id INTEGER NOT NULL REFERENCES builds(id),
        job_id INTEGER NOT NULL UNIQUE REFERENCES jobs(id), status SMALLINT NOT NULL DEFAULT 0,
        status_reason TEXT, results TEXT, PRIMARY KEY (check_name, build_id))
        """,
        "CREATE INDEX checks_build_id ON checks (build_id)",
    ]
}
