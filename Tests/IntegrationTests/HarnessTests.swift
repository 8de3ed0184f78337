import FlatManagerCore
import Foundation
import SystemPackage
import TestSupport
import Testing

/// The harness itself: these must hold before any end-to-end result can be trusted.
@Suite("Test harness")
struct HarnessTests {
    @Test("the built executables are found next to the test bundle")
    func builtExecutablesAreFound() throws {
        // Arrange
        let names = [Binaries.server, Binaries.client, Binaries.gentoken]

        // Act
        let urls = try names.map { try Binaries.url(of: $0) }

        // Assert
        for url in urls {
            #expect(FileManager.default.isExecutableFile(atPath: url.path))
        }
        #expect(Set(urls.map { $0.deletingLastPathComponent().path }).count == 1)
    }

    @Test("the binary search walks up from a nested start to the directory holding the executable")
    func binarySearchWalksUp() throws {
        // Arrange
        let root = try TempDirectory()
        let nested = root.appending("debug/flat-managerPackageTests.xctest/Contents/MacOS")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        let executable = root.appending("debug/flat-manager")
        try Data("#!/bin/sh\n".utf8).write(to: executable)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable.path)

        // Act
        let found = Binaries.findDirectory(
            containing: "flat-manager", startingAt: [nested.appendingPathComponent("flat-managerPackageTests")])

        // Assert
        #expect(found?.resolvingSymlinksInPath().path == root.appending("debug").resolvingSymlinksInPath().path)
    }

    @Test("the binary search ignores a directory that merely has the executable's name")
    func binarySearchIgnoresDirectories() throws {
        // Arrange
        let root = try TempDirectory()
        let start = root.appending("debug/flat-manager")
        try FileManager.default.createDirectory(at: start, withIntermediateDirectories: true)

        // Act
        let found = Binaries.findDirectory(containing: "flat-manager", startingAt: [start])

        // Assert
        #expect(found == nil)
    }

    @Test("a command's exit status and both output streams are captured")
    func processOutputIsCaptured() async throws {
        // Arrange
        let shell = try #require(TestEnvironment.executable(named: "sh"))

        // Act
        let result = try await ProcessRunner.run(shell, ["-c", "echo out; echo err >&2; exit 3"])

        // Assert
        #expect(result.status == 3)
        #expect(result.stdout == "out\n")
        #expect(result.stderr == "err\n")
    }

    @Test("a command that outlives its deadline is killed and reported")
    func slowCommandTimesOut() async throws {
        // Arrange
        let shell = try #require(TestEnvironment.executable(named: "sh"))
        let start = ContinuousClock.now

        // Act / Assert
        await #expect(throws: TestSupportError.self) {
            // `exec` so the killed process is the sleep itself: a grandchild would keep the output pipe open.
            try await ProcessRunner.run(shell, ["-c", "exec sleep 300"], timeout: .milliseconds(300))
        }
        // Not a speed check: without the kill this would take the full 300 s.
        #expect(ContinuousClock.now - start < .seconds(150))
    }

    @Test("a killed process counts as ended even while a child it started keeps running")
    func killedProcessEndsDespiteGrandchild() async throws {
        // Arrange: the shell forks `sleep`, which inherits the output files and outlives the shell.
        let shell = try #require(TestEnvironment.executable(named: "sh"))
        let directory = try TempDirectory()
        let handle = try ProcessRunner.launch(
            shell, ["-c", "sleep 5; echo unreachable"], environment: nil, currentDirectory: directory.url,
            stdout: directory.appending("out"), stderr: directory.appending("err"))

        // Act
        handle.signal(SIGKILL)
        let exited = await handle.waitForExit(timeout: .seconds(3))

        // Assert
        #expect(exited)
        #expect(handle.terminationStatus == 128 + SIGKILL)
    }

    @Test("a process runs in the working directory and with the environment it is given")
    func processGetsDirectoryAndEnvironment() async throws {
        // Arrange
        let shell = try #require(TestEnvironment.executable(named: "sh"))
        let directory = try TempDirectory()

        // Act
        let result = try await ProcessRunner.check(
            shell, ["-c", "pwd; echo \"$FM_TEST_VARIABLE\""],
            environment: ["FM_TEST_VARIABLE": "set", "PATH": "/usr/bin:/bin"],
            currentDirectory: directory.url)

        // Assert
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == directory.url.resolvingSymlinksInPath().path)
        #expect(lines.last == "set")
    }

    @Test("picked ports differ and lie below the ephemeral range that outgoing connections take ports from")
    func freePortsArePicked() throws {
        // Act
        let ports = try (0..<20).map { _ in try FreePort.pick() }

        // Assert
        for port in ports { #expect((12000..<20000).contains(port)) }
        #expect(Set(ports).count == ports.count)
    }

    @Test("the raw HTTP client reads the status code from the status line")
    func rawStatusLineIsParsed() {
        #expect(RawHTTP.statusCode(of: "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n") == 400)
        #expect(RawHTTP.statusCode(of: "garbage") == 0)
    }

    @Test(
        "a PostgreSQL URL gets the new database name in place of its own",
        arguments: [
            ("postgres://postgres@127.0.0.1:5432/postgres", "postgres://postgres@127.0.0.1:5432/fm"),
            ("postgres://postgres@127.0.0.1:5432", "postgres://postgres@127.0.0.1:5432/fm"),
            ("postgresql://u:p@h/db?sslmode=disable", "postgresql://u:p@h/fm?sslmode=disable"),
            ("postgres://%2Fvar%2Frun%2Fpostgresql/repo", "postgres://%2Fvar%2Frun%2Fpostgresql/fm"),
        ])
    func postgresURLGetsNewDatabase(original: String, expected: String) {
        #expect(PostgresDatabase.url(original, replacingDatabaseWith: "fm") == expected)
    }

    @Test(
        "example-config.json is a valid configuration once its repositories exist",
        .enabled(if: TestEnvironment.hasOSTree))
    func exampleConfigIsValid() async throws {
        // Arrange
        let directory = try TempDirectory()
        for (path, collectionID) in [("repo", "org.test.Stable"), ("beta-repo", "org.test.Beta")] {
            try await TestServer.initRepository(at: directory.appending(path), collectionID: collectionID)
        }
        let data = try Data(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("example-config.json"))

        // Act
        let config = try Config.parse(data, file: "example-config.json", workingDirectory: FilePath(directory.path))

        // Assert
        #expect(config.repoNames == ["beta", "stable"])
        #expect(config.databaseURL == nil)
        #expect(config.repos["stable"]?.collectionID == "org.test.Stable")
        #expect(config.baseURL == "http://127.0.0.1:8080")
    }

    @Test(
        "the config a test server writes is accepted by the server's config loader",
        .enabled(if: TestEnvironment.hasOSTree), arguments: [nil, "postgres://postgres@127.0.0.1:5432/fm_x"])
    func testServerConfigIsValid(databaseURL: String?) async throws {
        // Arrange
        let directory = try TempDirectory()
        let repo = directory.appending("repo")
        try await TestServer.initRepository(at: repo, collectionID: TestServer.collectionID)
        let configURL = directory.appending("config.json")

        // Act
        try TestServer.writeConfig(
            to: configURL, port: 4321, repoPath: repo, buildRepoBase: directory.appending("build-repo"),
            databaseURL: databaseURL)
        let config = try Config.load(path: FilePath(configURL.path), workingDirectory: FilePath(directory.path))

        // Assert
        #expect(config.databaseURL == databaseURL)
        #expect(config.port == 4321)
        #expect(config.repos["stable"]?.collectionID == TestServer.collectionID)
        #expect(TokenSigner(base64Secret: config.secret) != nil)
    }

    @Test("each test server gets a fresh PostgreSQL database of its own", .enabled(if: TestEnvironment.hasPostgres))
    func postgresDatabasesAreFresh() async throws {
        // Arrange
        let serverURL = try TestEnvironment.requirePostgres()
        let psql = try #require(TestEnvironment.executable(named: "psql"))

        // Act
        let first = try await PostgresDatabase.create(serverURL: serverURL)
        let second = try await PostgresDatabase.create(serverURL: serverURL)
        let name = try await ProcessRunner.check(psql, [first, "-tAc", "SELECT current_database()"])

        // Assert
        #expect(first != second)
        #expect(first.hasSuffix("/" + name.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}

/// The fixture builder and the isolated flatpak installation, against a local file:// remote (no server).
@Suite("Fixture app and flatpak user", .enabled(if: TestEnvironment.hasOSTree))
struct FixtureTests {
    @Test("the fixture app installs, runs and updates with real flatpak")
    func fixtureInstallsRunsAndUpdates() async throws {
        // Arrange
        let directory = try TempDirectory()
        let repo = directory.appending("repo")
        _ = try await FixtureRepo.build(into: repo, version: "1")
        let user = try FlatpakUser()
        try await user.remoteAdd(url: repo.absoluteString)

        // Act
        try await user.install(FixtureRepo.appID)
        let first = try await user.run(FixtureRepo.appID)
        _ = try await FixtureRepo.build(into: repo, version: "2")
        try await user.update()
        let second = try await user.run(FixtureRepo.appID)

        // Assert
        #expect(first == "Hello 1")
        #expect(second == "Hello 2")
    }

    @Test("fixture repositories are built once per version and hold the app and runtime refs")
    func fixturesAreCachedPerVersion() async throws {
        // Act
        let first = try await FixtureRepo.shared.repository(version: "cache-check")
        let again = try await FixtureRepo.shared.repository(version: "cache-check")
        let refs = try await ProcessRunner.check(
            try #require(TestEnvironment.executable(named: "ostree")), ["refs", "--repo=\(first.path)"])

        // Assert
        #expect(first == again)
        #expect(refs.stdout.contains("app/\(FixtureRepo.appID)/"))
        #expect(refs.stdout.contains("runtime/\(FixtureRepo.runtimeID)/"))
    }
}
