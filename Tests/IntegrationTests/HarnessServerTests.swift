import Foundation
import TestSupport
import Testing

/// `TestServer`'s process handling, checked against stand-ins for `flat-manager` and `gentoken` so that it is
/// known to work before the real server is there: a tiny Python HTTP server that reads config.json like the
/// real one, answers `GET /status`, and exits 0 on SIGTERM.
@Suite("Test server lifecycle", .enabled(if: TestEnvironment.hasOSTree))
struct HarnessServerTests {
    @Test("the test server starts, survives a kill and restart, and stops gracefully on SIGTERM")
    func serverLifecycle() async throws {
        // Arrange
        let binaries = try StandIns()
        let server = try await TestServer(
            database: .sqlite, environment: ["STAND_IN_GREETING": "hello"], binaryDirectory: binaries.directory.url)

        // Act
        let answeredAtStart = await server.isAnswering()
        await server.kill()
        let answeredAfterKill = await server.isAnswering()
        try await server.start()
        let answeredAfterRestart = await server.isAnswering()
        let status = await server.stop()
        let output = await server.output()

        // Assert
        #expect(answeredAtStart)
        #expect(!answeredAfterKill)
        #expect(answeredAfterRestart)
        #expect(status == 0, "\(output)")
        #expect(output.contains("stand-in listening on \(server.port) greeting hello"))
        #expect(server.adminToken == "stand.in.token")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: server.configPath)) as? [String: Any]
        #expect(config?["database-url"] == nil)
    }

    @Test("a server that exits at start is reported with its output")
    func failingServerIsReported() async throws {
        // Arrange
        let binaries = try StandIns(serverExitsAtOnce: true)

        // Act / Assert
        await #expect(throws: TestSupportError.self) {
            _ = try await TestServer(database: .sqlite, binaryDirectory: binaries.directory.url)
        }
    }
}

/// A directory with stand-in `flat-manager` and `gentoken` executables.
struct StandIns {
    let directory: TempDirectory

    init(serverExitsAtOnce: Bool = false) throws {
        directory = try TempDirectory(prefix: "flat-manager-stand-ins")
        let server =
            serverExitsAtOnce
            ? "#!/bin/sh\necho 'config broken' >&2\nexit 3\n"
            : """
            #!/usr/bin/env python3
            import http.server, json, os, signal, sys
            config = json.load(open("config.json"))
            class Status(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200 if self.path == "/status" else 404)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer((config["host"], config["port"]), Status)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            print("stand-in listening on", config["port"], "greeting", os.environ["STAND_IN_GREETING"], flush=True)
            server.serve_forever()

            """
        try write(server, to: "flat-manager")
        try write("#!/bin/sh\necho stand.in.token\n", to: "gentoken")
    }

    private func write(_ text: String, to name: String) throws {
        let url = directory.appending(name)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
}
