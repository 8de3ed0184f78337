import FlatManagerCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `flatpak` wrapper for the orphan and fencing tests: it logs every call (`start PPID PID ARGS`) and, while the
/// `hold` file exists, holds each `build-commit-from` before running it (`held PPID PID`, then `released PPID PID`
/// when let go), with a grandchild (`linger`) beside it, so a test can see whether a whole process group dies.
/// PPID is the server process that ran the tool.
struct HeldFlatpak {
    let directory: TempDirectory
    var hold: URL { directory.appending("hold") }
    var callLog: URL { directory.appending("calls.log") }

    /// One line of the call log.
    struct Entry: Equatable {
        let event: String
        let serverPID: pid_t
        let toolPID: pid_t
        let arguments: String
    }

    init() throws {
        guard let realFlatpak = TestEnvironment.executable(named: "flatpak") else {
            throw TestSupportError.missingPrerequisite("flatpak")
        }
        directory = try TempDirectory(prefix: "flat-manager-held-flatpak")
        let dir = directory.path
        let script = """
            #!/bin/sh
            # Test wrapper: log the call; hold build-commit-from while the hold file exists.
            echo "start $PPID $$ $*" >> '\(dir)/calls.log'
            case " $* " in
                *" build-commit-from "*)
                    if [ -e '\(dir)/hold' ]; then
                        '\(dir)/linger' &
                        echo "held $PPID $$" >> '\(dir)/calls.log'
                        while [ -e '\(dir)/hold' ]; do sleep 0.1; done
                        echo "released $PPID $$" >> '\(dir)/calls.log'
                    fi
                    ;;
            esac
            exec '\(realFlatpak.path)' "$@"

            """
        try Self.write(script, to: directory.appending("flatpak"))
        try Self.write("#!/bin/sh\nsleep 600\n", to: directory.appending("linger"))
    }

    /// Makes every later `build-commit-from` wait.
    func holdCommits() throws { try Data().write(to: hold) }

    /// Lets every held and later `build-commit-from` run.
    func release() { try? FileManager.default.removeItem(at: hold) }

    /// Every call logged so far.
    func entries() -> [Entry] {
        ProcessRunner.readText(callLog).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count >= 3, let server = pid_t(parts[1]), let tool = pid_t(parts[2]) else { return nil }
            return Entry(
                event: String(parts[0]), serverPID: server, toolPID: tool,
                arguments: parts.count > 3 ? String(parts[3]) : "")
        }
    }

    /// Waits for the `count`-th held call; returns it.
    func waitUntilHeld(count: Int = 1) async throws -> Entry {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let held = entries().filter { $0.event == "held" }
            if held.count >= count { return held[count - 1] }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError.timedOut("no build-commit-from was held")
    }

    private static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
}

/// Processes as `/proc` shows them.
enum ProcessTable {
    /// Live (not zombie) processes whose command line contains `text`.
    static func processes(naming text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard pid != getpid(), !isZombie(pid) else { return false }
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
            return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Waits up to `timeout` for every process naming `text` to be gone; returns the survivors.
    static func survivors(naming text: String, after timeout: Duration) async -> [pid_t] {
        let deadline = ContinuousClock.now + timeout
        var left = processes(naming: text)
        while !left.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            left = processes(naming: text)
        }
        return left
    }

    /// The process is gone or a zombie (dead, not yet reaped).
    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return true }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return true }
        let state = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X"
    }
}

/// A second `flat-manager` process on the same config, repositories and database as `server`, on its own port
/// (`REPO_CONFIG` points it at a copy of the config with another port).
final class SecondServer: Sendable {
    let handle: ProcessHandle
    let baseURL: String
    let logs: URL

    init(like server: TestServer, extraPath: [URL], environment: [String: String]) async throws {
        var config = try Self.config(of: server)
        let port = try FreePort.pick()
        config["port"] = port
        let path = server.directory.appending("config-second.json")
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: path)
        var variables = environment
        variables["REPO_CONFIG"] = path.path
        logs = server.directory.appending("second-server.stderr")
        handle = try ProcessRunner.launch(
            try Binaries.url(of: Binaries.server, in: try Binaries.directory()), [],
            environment: TestServer.serverEnvironment(extraPath: extraPath, additions: variables),
            currentDirectory: server.directory.url, stdout: server.directory.appending("second-server.stdout"),
            stderr: logs)
        baseURL = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard handle.isRunning else { throw TestSupportError.serverFailed(ProcessRunner.readText(logs)) }
            let status = try? await HTTP.request("GET", try url(baseURL + "/status"), token: server.adminToken).status
            if status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError.serverFailed("the second server did not answer\n\(ProcessRunner.readText(logs))")
    }

    /// The config `server` runs with, as JSON.
    static func config(of server: TestServer) throws -> [String: Any] {
        let data = try Data(contentsOf: server.configPath)
        guard let config = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError.unexpected("config.json is not an object")
        }
        return config
    }

    func stop() async {
        handle.signal(SIGTERM)
        if await !handle.waitForExit(timeout: .seconds(30)) {
            handle.signal(SIGKILL)
            _ = await handle.waitForExit(timeout: .seconds(10))
        }
    }

    deinit { handle.signal(SIGKILL) }
}

/// Small JSON reads of the API and the database for the fencing tests.
enum FencingProbe {
    /// GET `path` below `baseURL` as a JSON object.
    static func object(_ baseURL: String, _ path: String, token: String) async throws -> [String: Any] {
        let response = try await HTTP.request("GET", try url(baseURL + path), token: token)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else { throw TestSupportError.unexpected("GET \(path): \(response.status) \(response.text)") }
        return object
    }

    /// Polls `path` until `done` holds (up to two minutes); returns the last object.
    static func waitFor(
        _ baseURL: String, _ path: String, token: String, _ done: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let object = try await object(baseURL, path, token: token)
            if done(object) { return object }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("\(path) never reached the expected state: \(object)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// One value from the server's PostgreSQL database (`psql -At`).
    static func query(_ server: TestServer, _ sql: String) async throws -> String {
        guard let databaseURL = try SecondServer.config(of: server)["database-url"] as? String,
            let psql = TestEnvironment.executable(named: "psql")
        else { throw TestSupportError.missingPrerequisite("psql and a PostgreSQL database") }
        let result = try await ProcessRunner.check(psql, [databaseURL, "-At", "-c", sql])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
