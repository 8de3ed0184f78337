import FlatManagerCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `flat-manager` process on a free port, in its own temporary directory with its own config, repos and
/// database, started the way an operator would start it (working directory = the directory with config.json).
package actor TestServer {
    /// Upstream's example secret: base64 of "secret" (so `gentoken --secret secret` matches it).
    package static let base64Secret = "c2VjcmV0"
    package static let secretText = "secret"
    package static let collectionID = "org.test.Stable"

    nonisolated package let database: DatabaseKind
    nonisolated package let directory: TempDirectory
    nonisolated package let port: Int
    nonisolated package let baseURL: URL
    /// A token allowed to do everything on every repo, prefix and branch (made with our `gentoken`).
    nonisolated package let adminToken: String
    /// The `stable` repository (an ostree archive-z2 repo created before start).
    nonisolated package let repoPath: URL
    nonisolated package let buildRepoBase: URL
    nonisolated package let configPath: URL

    private let environment: [String: String]
    private let serverBinary: URL
    private var process: ProcessHandle?
    private var generation = 0

    /// Prepares the directory, config and database, starts the server and waits for `GET /status` → 200.
    ///
    /// `extraPath` directories are put in front of `PATH` (e.g. to wrap `flatpak`); `environment` adds variables;
    /// `binaryDirectory` replaces the built `flat-manager` and `gentoken` (the harness tests use stand-ins).
    package init(
        database: DatabaseKind, extraPath: [URL] = [], environment: [String: String] = [:],
        binaryDirectory: URL? = nil, prepareDatabase: (@Sendable (String) async throws -> Void)? = nil
    ) async throws {
        let binaries = try binaryDirectory ?? Binaries.directory()
        try TestEnvironment.requireOSTree()
        self.database = database
        directory = try TempDirectory(prefix: "flat-manager-server")
        port = try FreePort.pick()
        baseURL = try Self.url("http://127.0.0.1:\(port)")
        repoPath = directory.appending("repo")
        buildRepoBase = directory.appending("build-repo")
        configPath = directory.appending("config.json")
        self.environment = Self.serverEnvironment(extraPath: extraPath, additions: environment)
        serverBinary = try Binaries.url(of: Binaries.server, in: binaries)
        adminToken = try await Self.makeAdminToken(gentoken: try Binaries.url(of: Binaries.gentoken, in: binaries))
        try await Self.initRepository(at: repoPath, collectionID: Self.collectionID)
        var databaseURL: String?
        if database == .postgres {
            databaseURL = try await PostgresDatabase.create(serverURL: try TestEnvironment.requirePostgres())
        }
        // A database shaped before the first start (e.g. an upstream schema the server must take over).
        if let prepareDatabase, let databaseURL { try await prepareDatabase(databaseURL) }
        try Self.writeConfig(
            to: configPath, port: port, repoPath: repoPath, buildRepoBase: buildRepoBase, databaseURL: databaseURL)
        try await start()
    }

    /// A URL below the server, e.g. `url("/api/v1/build")`.
    package nonisolated func url(_ path: String) -> URL {
        URL(string: baseURL.absoluteString + path) ?? baseURL
    }

    /// The API base the client takes as MANAGER_URL.
    package nonisolated var managerURL: String { baseURL.absoluteString }

    /// Starts the process (again) with the same directory, config and database.
    package func start() async throws {
        guard process == nil else { return }
        generation += 1
        let handle = try ProcessRunner.launch(
            serverBinary, [], environment: environment, currentDirectory: directory.url,
            stdout: logURL("stdout"), stderr: logURL("stderr"))
        process = handle
        try await waitUntilReady(handle)
    }

    /// SIGTERM, then waits for a graceful exit (SIGKILL after 60 s). Returns the exit status.
    @discardableResult
    package func stop() async -> Int32? {
        await end(with: SIGTERM, grace: .seconds(60))
    }

    /// Sends `signal` (SIGINT, SIGQUIT, ...), then waits for the exit (SIGKILL after 60 s). Returns the exit status.
    @discardableResult
    package func stop(signal: Int32) async -> Int32? {
        await end(with: signal, grace: .seconds(60))
    }

    /// The running server process's id, if it runs.
    package var processIdentifier: pid_t? { process?.processIdentifier }

    /// SIGKILL, like a crash or an OOM kill; running jobs are interrupted.
    package func kill() async {
        _ = await end(with: SIGKILL, grace: .seconds(10))
    }

    /// `stop()` (or nothing if not running), then `start()`.
    package func restart() async throws {
        await stop()
        try await start()
    }

    /// Everything the server printed so far (all runs), for failure messages.
    package func output() -> String {
        (1...max(generation, 1)).map { run in
            let out = ProcessRunner.readText(directory.appending("server-\(run).stdout"))
            let err = ProcessRunner.readText(directory.appending("server-\(run).stderr"))
            return "--- flat-manager run \(run) stdout ---\n\(out)\n--- flat-manager run \(run) stderr ---\n\(err)"
        }.joined(separator: "\n")
    }

    /// True while `GET /status` answers 200. Asked with the admin token (it has the `jobs` scope), so that a server
    /// with `status-requires-token` counts as answering too.
    package func isAnswering() async -> Bool {
        (try? await HTTP.request("GET", url("/status"), token: adminToken).status) == 200
    }

    private func end(with signal: Int32, grace: Duration) async -> Int32? {
        guard let process else { return nil }
        process.signal(signal)
        if await !process.waitForExit(timeout: grace) {
            process.signal(SIGKILL)
            _ = await process.waitForExit(timeout: .seconds(10))
        }
        self.process = nil
        return process.terminationStatus
    }

    private func logURL(_ stream: String) -> URL { directory.appending("server-\(generation).\(stream)") }

    /// How long a start may take before it counts as failed: generous, since the whole suite runs servers, builds
    /// and browsers side by side on two cores (a start once took 30 s at a load of 30; quiet, it takes 1 s).
    static let readyTimeout = Duration.seconds(180)

    private func waitUntilReady(_ handle: ProcessHandle) async throws {
        let deadline = ContinuousClock.now + Self.readyTimeout
        while ContinuousClock.now < deadline {
            guard handle.isRunning else {
                process = nil
                throw TestSupportError.serverFailed("exited with \(handle.terminationStatus) at start\n\(output())")
            }
            if await isAnswering() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError.serverFailed("GET /status did not answer 200 within \(Self.readyTimeout)\n\(output())")
    }

    deinit {
        // A test that failed before stop() must not leave a server running.
        process?.signal(SIGKILL)
    }
}

extension TestServer {
    /// The test's environment, minus what would redirect the server, with `extraPath` in front of PATH.
    package static func serverEnvironment(extraPath: [URL], additions: [String: String]) -> [String: String] {
        var environment = TestEnvironment.environment
        environment["REPO_CONFIG"] = nil
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["PATH"] = (extraPath.map(\.path) + [path]).joined(separator: ":")
        environment.merge(additions) { _, new in new }
        return environment
    }

    /// Upstream's config format with absolute paths; `database-url` only for PostgreSQL.
    package static func writeConfig(
        to url: URL, port: Int, repoPath: URL, buildRepoBase: URL, databaseURL: String?
    ) throws {
        var config: [String: Any] = [
            "repos": [
                "stable": ["path": repoPath.path, "collection-id": collectionID, "subsets": [String: Any]()]
            ],
            "host": "127.0.0.1",
            "port": port,
            "base-url": "",
            "delay-update-secs": 0,
            "build-repo-base": buildRepoBase.path,
            "secret": base64Secret,
        ]
        if let databaseURL { config["database-url"] = databaseURL }
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: url)
    }

    /// `ostree init --mode=archive-z2 --repo=PATH --collection-id=ID`.
    package static func initRepository(at path: URL, collectionID: String) async throws {
        guard let ostree = TestEnvironment.executable(named: "ostree") else {
            throw TestSupportError.missingPrerequisite("ostree")
        }
        try await ProcessRunner.check(
            ostree, ["init", "--mode=archive-z2", "--repo=\(path.path)", "--collection-id=\(collectionID)"])
    }

    /// An admin token from our `gentoken`, allowed every scope, repo, prefix and branch.
    package static func makeAdminToken(gentoken: URL) async throws -> String {
        let scopes = [
            "build", "upload", "download", "publish", "jobs", "generate", "republish", "reviewcheck",
            "tokenmanagement",
        ]
        let arguments =
            ["--secret", secretText, "--name", "admin", "--scope"] + scopes
            + ["--prefix", "", "--repo", "", "--branch", "", "--sub", "build"]
        let result = try await ProcessRunner.check(gentoken, arguments)
        let token = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.split(separator: ".").count == 3 else {
            throw TestSupportError.unexpected("gentoken printed no JWT: \(result.stdout)")
        }
        return token
    }

    /// Signs a token directly with Core's signer, for claims gentoken cannot make (e.g. already expired).
    package static func signToken(_ claims: Claims, base64Secret: String = base64Secret) throws -> String {
        guard let signer = TokenSigner(base64Secret: base64Secret) else {
            throw TestSupportError.unexpected("bad test secret")
        }
        return signer.sign(claims)
    }

    private static func url(_ text: String) throws -> URL {
        guard let url = URL(string: text) else { throw TestSupportError.unexpected("bad URL \(text)") }
        return url
    }
}
