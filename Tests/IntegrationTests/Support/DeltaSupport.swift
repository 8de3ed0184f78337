import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

extension TestServer {
    /// Stops the server, merges JSON objects into its config (top level, and `repos.stable`), and starts it again.
    func reconfigure(top: String = "{}", stableRepo: String = "{}") async throws {
        await stop()
        let data = try Data(contentsOf: configPath)
        guard var config = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            var repos = config["repos"] as? [String: Any], var stable = repos["stable"] as? [String: Any],
            let topAdditions = try JSONSerialization.jsonObject(with: Data(top.utf8)) as? [String: Any],
            let repoAdditions = try JSONSerialization.jsonObject(with: Data(stableRepo.utf8)) as? [String: Any]
        else { throw TestSupportError.unexpected("config.json or the additions are not JSON objects") }
        stable.merge(repoAdditions) { _, new in new }
        repos["stable"] = stable
        config.merge(topAdditions) { _, new in new }
        config["repos"] = repos
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: configPath)
        try await start()
    }

    /// The names (`<xx><rest>`) of the delta directories under `deltas/<xx>/<rest>` of the stable repo.
    nonisolated func deltaNames(under subdirectory: String = "deltas") -> Set<String> {
        let root = repoPath.appendingPathComponent(subdirectory).path
        let files = FileManager.default
        var names: Set<String> = []
        for first in (try? files.contentsOfDirectory(atPath: root)) ?? [] where first.count == 2 {
            for rest in (try? files.contentsOfDirectory(atPath: root + "/" + first)) ?? [] {
                names.insert(first + rest)
            }
        }
        return names
    }

    /// The commit a ref of the stable repo points at, read from `refs/heads`.
    nonisolated func commit(of ref: String) throws -> String {
        try String(contentsOf: repoPath.appendingPathComponent("refs/heads/" + ref), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Delta names of the spec (server.md §5.1), computed independently of the server's code.
enum DeltaName {
    static func encode(_ hex: String) -> String {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "/", with: "_")
    }

    static func of(from: String?, to: String) -> String {
        guard let from else { return encode(to) }
        return encode(from) + "-" + encode(to)
    }

    /// `deltas/<xx>/<rest>` of a name.
    static func path(_ name: String) -> String { "deltas/\(name.prefix(2))/\(name.dropFirst(2))" }
}

/// A running `delta-generator-client`, connected to a test server with a `delta`/`generate` token.
final class DeltaWorkerProcess: Sendable {
    let workDirectory: TempDirectory
    let handle: ProcessHandle

    init(
        server: TestServer, capacity: Int = 1, extraPath: [URL] = [], cdnURL: String? = nil,
        pruneIntervalSecs: Int? = nil
    ) async throws {
        let binaries = try Binaries.directory()
        let gentoken = try Binaries.url(of: Binaries.gentoken, in: binaries)
        let token = try await ProcessRunner.check(
            gentoken,
            ["--secret", TestServer.secretText, "--name", "worker", "--sub", "delta", "--scope", "generate"]
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        workDirectory = try TempDirectory(prefix: "flat-manager-delta-worker")
        var environment = TestServer.serverEnvironment(extraPath: extraPath, additions: [:])
        environment["REPO_TOKEN"] = token
        environment["MANAGER_URL"] = server.managerURL
        environment["CAPACITY"] = String(capacity)
        environment["WORKDIR"] = workDirectory.appending("work").path
        environment["CDN_URL"] = cdnURL
        environment["PRUNE_INTERVAL_SECS"] = pruneIntervalSecs.map(String.init)
        handle = try ProcessRunner.launch(
            try Binaries.url(of: "delta-generator-client", in: binaries), [], environment: environment,
            currentDirectory: workDirectory.url, stdout: workDirectory.appending("stdout"),
            stderr: workDirectory.appending("stderr"))
    }

    /// The worker's own ostree repository.
    var repository: URL { workDirectory.appending("work/repo") }

    /// What the worker logged so far.
    var output: String { ProcessRunner.readText(workDirectory.appending("stderr")) }

    /// Waits until the worker logged `text` (the worker logs its registration and each delta).
    func waitForOutput(containing text: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return }
            guard handle.isRunning else { throw TestSupportError.unexpected("worker exited:\n\(output)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError.unexpected("worker never logged '\(text)':\n\(output)")
    }

    /// SIGKILL, like a crashed or unplugged worker.
    func kill() async {
        handle.signal(SIGKILL)
        _ = await handle.waitForExit(timeout: .seconds(10))
    }

    deinit {
        handle.signal(SIGKILL)
    }
}

/// A websocket client over a raw socket, for requests our own worker never sends (proxy headers): the handshake,
/// then masked text frames (RFC 6455 §5.2).
final class RawWebSocket: @unchecked Sendable {
    let descriptor: Int32
    /// The handshake's response head.
    let responseHead: String

    init(port: Int, path: String, headers: [String: String]) throws {
        descriptor = try RawHTTP.connectLoopback(port: port)
        var request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try RawHTTP.sendAll(descriptor, Array(request.utf8))
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]), recv(descriptor, &byte, 1, 0) == 1 {
            head.append(byte)
        }
        responseHead = String(decoding: head, as: UTF8.self)
    }

    var status: Int { RawHTTP.statusCode(of: responseHead) }

    /// Sends one masked text frame (the payload must be shorter than 126 bytes).
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255) }
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try RawHTTP.sendAll(descriptor, frame)
    }

    func close() { _ = Glibc.close(descriptor) }
}
