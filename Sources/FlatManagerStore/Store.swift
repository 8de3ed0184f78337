import FlatManagerCore
import Foundation
import Logging
import PostgresKit
import SQLiteKit
import SystemPackage

/// Which database engine a `Store` talks to.
public enum DatabaseKind: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case postgres, sqlite

    public var description: String {
        switch self {
        case .postgres: "PostgreSQL"
        case .sqlite: "SQLite"
        }
    }
}

/// Errors of the store. Database driver errors are wrapped in `database` with their full reflection
/// (PostgresNIO prints only "Generic description" otherwise).
public enum StoreError: Error, Sendable, Equatable {
    case invalidURL(String)
    case notFound
    case conflict(String)
    case database(String)
    /// A fenced write was refused: the job's lease (named) expired or was taken over (Store+Leases.swift).
    case leaseLost(String)
}

/// All SQL of the server, over PostgreSQL or an embedded SQLite file, through SQLKit.
///
/// A final class rather than an actor: it holds only immutable, thread-safe handles (the PostgreSQL client, or
/// the single SQLite connection plus the gate that serialises its transactions), so callers need no hop.
public final class Store: Sendable {
    /// The connection(s) behind the store.
    enum Backend: Sendable {
        /// A PostgresNIO client pool; `runner` keeps the pool alive until `close()`.
        case postgres(PostgresClient, runner: Task<Void, Never>)
        /// One SQLite connection; transactions take turns through the gate. The connection has a thread of its own
        /// because a statement waiting for another connection's lock (busy timeout) blocks its thread, and on the
        /// shared pool a few such waits would starve the very connection holding the lock.
        case sqlite(SQLiteConnection, gate: ConnectionGate, thread: NIOThreadPool)
    }

    let backend: Backend
    let logger: Logger
    /// Signalled with a job's id whenever this store changes the job's status or log (ours, issue #13), so that a
    /// long-polling job GET answers at once; ids share 64 buckets. Changes by another process are not signalled.
    public let jobSignals = ChangeSignals<Int32>(bucket: { $0 & 63 })

    /// The engine behind this store.
    public var kind: DatabaseKind {
        switch backend {
        case .postgres: .postgres
        case .sqlite: .sqlite
        }
    }

    init(backend: Backend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    /// Opens the database named by `databaseURL` (nil: the SQLite file `<workingDirectory>/flat-manager.db`).
    /// Does not migrate; call `migrate()` next.
    public static func open(databaseURL: String?, workingDirectory: FilePath, logger: Logger) async throws -> Store {
        let location =
            try databaseURL.map { try DatabaseLocation.parse($0) }
            ?? .defaultSQLite(workingDirectory: workingDirectory.string)
        switch location {
        case .sqlite(let path): return try await openSQLite(path: path, logger: logger)
        case .postgres(let postgres): return try await openPostgres(postgres, logger: logger)
        }
    }

    private static func openSQLite(path: String, logger: Logger) async throws -> Store {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: thread, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
        let store = Store(backend: .sqlite(connection, gate: ConnectionGate(), thread: thread), logger: logger)
        do {
            // WAL lets readers of other processes (e.g. a backup) proceed; foreign keys are off by default in SQLite.
            try await store.withDatabase { db in
                try await db.raw("PRAGMA journal_mode = WAL").run()
                try await db.raw("PRAGMA foreign_keys = ON").run()
                try await db.raw("PRAGMA busy_timeout = 10000").run()
                try await db.raw("PRAGMA synchronous = NORMAL").run()
            }
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    private static func openPostgres(_ location: PostgresLocation, logger: Logger) async throws -> Store {
        var configuration: PostgresClient.Configuration
        if let socket = location.socketPath {
            configuration = .init(
                unixSocketPath: socket, username: location.user, password: location.password,
                database: location.database)
        } else {
            configuration = .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: location.wantsTLS ? .require(.makeClientConfiguration()) : .disable)
        }
        // Timestamps are stored as UTC wall-clock values without zone (server.md §2.2).
        configuration.options.additionalStartupParameters = [("TimeZone", "UTC")]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // An unstructured task because the store must work before any service group exists (migrations run
        // first at start-up); `close()` cancels it, which is how PostgresClient shuts its pool down.
        let runner = Task { await client.run() }
        let store = Store(backend: .postgres(client, runner: runner), logger: logger)
        do {
            try await store.withDatabase { db in try await db.raw("SELECT 1").run() }
        } catch {
            runner.cancel()
            await runner.value
            throw error
        }
        return store
    }

    /// Closes every connection. The store must not be used afterwards.
    public func close() async throws {
        switch backend {
        case .postgres(_, let runner):
            runner.cancel()
            await runner.value
        case .sqlite(let connection, let gate, let thread):
            // Wait for the transaction in flight, if any, so it is not cut off.
            await gate.acquire()
            do {
                try await connection.close()
                try await thread.shutdownGracefully()
            } catch {
                await gate.release()
                throw StoreError.database(String(reflecting: error))
            }
            await gate.release()
        }
    }

    /// Keeps the store open until the calling task is cancelled, then closes it. For a service that has no
    /// graceful-shutdown hook of its own; one that has should await that signal and call `close()` instead.
    public func run() async throws {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        try await close()
    }

    /// Runs `body` on a connection outside any explicit transaction (each statement commits on its own).
    func withDatabase<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .postgres(let client, _):
                return try await client.withConnection { connection in try await body(connection.sql()) }
            case .sqlite(let connection, let gate, _):
                await gate.acquire()
                do {
                    let result = try await body(connection.sql())
                    await gate.release()
                    return result
                } catch {
                    await gate.release()
                    throw error
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(String(reflecting: error))
        }
    }

    /// Runs `body` in one transaction: `BEGIN` on PostgreSQL (rows locked with `FOR UPDATE` as needed),
    /// `BEGIN IMMEDIATE` on SQLite (the write lock up front, so two writers never deadlock on an upgrade).
    /// Rolls back when `body` throws.
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let begin = kind == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        return try await withDatabase { db in
            try await db.raw("\(unsafeRaw: begin)").run()
            do {
                try await checkFence(in: db)
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}

/// A first-in first-out async mutex. SQLite has one connection and a transaction must own it from `BEGIN`
/// to `COMMIT`, so every use of the connection takes a turn here.
actor ConnectionGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
