import FlatManagerCore
import Logging
import SQLKit

extension Store {
    /// Applies every pending migration, each in its own transaction, and records it in upstream's
    /// `__diesel_schema_migrations` so an existing upstream database gets only what it lacks.
    public func migrate() async throws {
        try await migrate(Migrations.all)
    }

    /// Applies the given migrations that are not yet recorded (tests use this to build an upstream-only schema).
    func migrate(_ migrations: [Migration]) async throws {
        try await withDatabase { db in
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY,
                run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)
                """
            ).run()
        }
        let applied = try await appliedMigrations()
        for migration in migrations where !applied.contains(migration.version) {
            try await apply(migration)
        }
    }

    /// The versions recorded in the bookkeeping table.
    func appliedMigrations() async throws -> Set<String> {
        try await withDatabase { db in
            let rows = try await db.raw("SELECT version FROM __diesel_schema_migrations").all()
            return Set(try rows.map { try $0.string("version") })
        }
    }

    private func apply(_ migration: Migration) async throws {
        let statements = kind == .postgres ? migration.postgres : migration.sqlite
        let applied = try await transaction { db in
            if kind == .postgres {
                // Two servers starting at once: the second waits here and then finds the version recorded.
                try await db.raw("SELECT pg_advisory_xact_lock(hashtext('flat-manager-migrations'))").run()
            }
            let existing = try await db.raw(
                "SELECT version FROM __diesel_schema_migrations WHERE version = \(bind: migration.version)"
            ).first()
            guard existing == nil else { return false }
            for statement in statements {
                try await db.raw("\(unsafeRaw: statement)").run()
            }
            try await db.raw(
                "INSERT INTO __diesel_schema_migrations (version) VALUES (\(bind: migration.version))"
            ).run()
            return true
        }
        if applied {
            logger.info("Applied migration \(migration.version) (\(migration.name))")
        }
    }
}
