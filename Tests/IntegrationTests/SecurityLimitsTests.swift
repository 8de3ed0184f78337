import FlatManagerCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #10, step 5: the opt-in upload limits answer 413 with the upstream error JSON and keep nothing of the
/// offending part; the HTTP header and idle timeouts close connections that keep the server waiting.
@Suite("Security: upload limits and HTTP timeouts", .enabled(if: TestEnvironment.hasOSTree))
struct SecurityLimitsTests {
    /// A delta-part upload name (no verifier, so any content of any size is a valid part).
    static func deltaPartName(_ part: Int) -> String {
        String(repeating: "A", count: 43) + ".\(part).delta"
    }

    /// `POST /api/v1/build/{id}/upload` with one part per (file name, size).
    static func upload(_ server: TestServer, build: Int, parts: [(String, Int)]) async throws -> HTTPResponse {
        let boundary = "limitsB0undary"
        var body = Data()
        for (name, size) in parts {
            body.append(
                Data(
                    ("--\(boundary)\r\nContent-Disposition: form-data; name=\"content\"; filename=\"\(name)\"\r\n"
                        + "Content-Type: application/octet-stream\r\n\r\n").utf8))
            body.append(Data(repeating: 0x61, count: size))
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        return try await HTTP.request(
            "POST", server.url("/api/v1/build/\(build)/upload"), token: server.adminToken, body: body,
            contentType: "multipart/form-data; boundary=\(boundary)")
    }

    /// Where a delta part of `build` lands on disk.
    static func partFile(_ server: TestServer, build: Int, part: Int) -> String {
        server.buildRepoBase.path + "/\(build)/upload/deltas/AA/" + String(repeating: "A", count: 41) + "/\(part)"
    }

    static func newBuild(_ server: TestServer) async throws -> Int {
        try #require(
            try await Management.object(
                server, "POST", "/api/v1/build", token: server.adminToken, json: ["repo": "stable"])["id"] as? Int)
    }

    @Test("a file over max-object-bytes is a 413 and nothing of it is kept", arguments: TestEnvironment.databases)
    func objectLimit(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { $0["max-object-bytes"] = 1000 }
        try await withServerOutputOnFailure(server) {
            let build = try await Self.newBuild(server)

            // Act
            let small = try await Self.upload(server, build: build, parts: [(Self.deltaPartName(0), 1000)])
            let large = try await Self.upload(server, build: build, parts: [(Self.deltaPartName(1), 1001)])

            // Assert
            #expect(small.status == 200, "\(small.text)")
            #expect(FileManager.default.fileExists(atPath: Self.partFile(server, build: build, part: 0)))
            #expect(large.status == 413, "\(large.text)")
            #expect(Management.member("error-type", of: large) == "generic-error", "\(large.text)")
            #expect(large.headers["content-type"] == "application/json")
            #expect(!FileManager.default.fileExists(atPath: Self.partFile(server, build: build, part: 1)))
            let temp = server.buildRepoBase.path + "/\(build)/upload/deltas/.tmp"
            #expect((try? FileManager.default.contentsOfDirectory(atPath: temp))?.isEmpty ?? true)
            #expect(await server.isAnswering())
        }
        await server.stop()
    }

    @Test(
        "uploads past max-build-bytes are a 413 across requests; smaller ones still fit",
        arguments: TestEnvironment.databases)
    func buildLimit(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { $0["max-build-bytes"] = 2500 }
        try await withServerOutputOnFailure(server) {
            let build = try await Self.newBuild(server)
            let other = try await Self.newBuild(server)

            // Act
            let first = try await Self.upload(
                server, build: build, parts: [(Self.deltaPartName(0), 1000), (Self.deltaPartName(1), 1000)])
            let over = try await Self.upload(server, build: build, parts: [(Self.deltaPartName(2), 1000)])
            let fits = try await Self.upload(server, build: build, parts: [(Self.deltaPartName(3), 500)])
            let otherBuild = try await Self.upload(server, build: other, parts: [(Self.deltaPartName(0), 2000)])

            // Assert
            #expect(first.status == 200, "\(first.text)")
            #expect(over.status == 413, "\(over.text)")
            #expect(Management.member("error-type", of: over) == "generic-error")
            #expect(!FileManager.default.fileExists(atPath: Self.partFile(server, build: build, part: 2)))
            #expect(fits.status == 200, "\(fits.text)")
            #expect(otherBuild.status == 200, "the limit is per build: \(otherBuild.text)")
        }
        await server.stop()
    }

    @Test(
        "a build ref past max-build-refs is a 413; updating an existing ref is not",
        arguments: TestEnvironment.databases)
    func refLimit(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { $0["max-build-refs"] = 1 }
        try await withServerOutputOnFailure(server) {
            let build = try await Self.newBuild(server)
            let commit = String(repeating: "ab", count: 32)
            func addRef(_ ref: String) async throws -> HTTPResponse {
                try await Management.call(
                    server, "POST", "/api/v1/build/\(build)/build_ref", token: server.adminToken,
                    json: ["ref": ref, "commit": commit])
            }

            // Act
            let first = try await addRef("app/org.test.Hello/x86_64/stable")
            let again = try await addRef("app/org.test.Hello/x86_64/stable")
            let second = try await addRef("runtime/org.test.Hello.Locale/x86_64/stable")
            let extended = try await Management.object(
                server, "GET", "/api/v1/build/\(build)/extended", token: server.adminToken)

            // Assert
            #expect(first.status == 200, "\(first.text)")
            #expect(again.status == 200, "\(again.text)")
            #expect(second.status == 413, "\(second.text)")
            #expect(Management.member("error-type", of: second) == "generic-error")
            #expect((extended["build_refs"] as? [Any])?.count == 1)
        }
        await server.stop()
    }

    @Test(
        "a push, publish and flatpak install pass untouched under realistic limits and the default timeouts",
        arguments: TestEnvironment.databases)
    func honestFlowUnderLimits(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            config["max-build-bytes"] = 1 << 30
            config["max-object-bytes"] = 100 << 20
            config["max-build-refs"] = 50
        }
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let user = try FlatpakUser()

            // Act
            try await publish(version: "1", to: server, with: client)
            try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
            try await user.install(FixtureRepo.appID)
            let output = try await user.run(FixtureRepo.appID)

            // Assert
            #expect(output == "Hello 1")
        }
        await server.stop()
    }

    /// Seconds until the server closes `descriptor`, sending `trickle` every half second meanwhile (nil: nothing);
    /// nil when it is still open after `limit` seconds.
    static func secondsUntilClosed(_ descriptor: Int32, trickle: [UInt8]?, limit: Double) throws -> Double? {
        let start = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if seconds > limit { return nil }
            if let trickle, send(descriptor, trickle, trickle.count, Int32(MSG_NOSIGNAL)) < 0 { return seconds }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 500) > 0 {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return seconds }
            }
        }
    }

    @Test("connections that keep the server waiting are closed after the configured timeouts")
    func slowClientsAreDisconnected() async throws {
        // Arrange
        let server = try await Management.server(database: .sqlite) { config in
            config["http-header-timeout-secs"] = 2
            config["http-idle-timeout-secs"] = 2
        }
        try await withServerOutputOnFailure(server) {
            let silent = try RawHTTP.connectLoopback(port: server.port)
            defer { close(silent) }
            let slowHeaders = try RawHTTP.connectLoopback(port: server.port)
            defer { close(slowHeaders) }
            try RawHTTP.sendAll(slowHeaders, Array("GET /status HTTP/1.1\r\nHost: x\r\n".utf8))
            let slowBody = try RawHTTP.connectLoopback(port: server.port)
            defer { close(slowBody) }
            try RawHTTP.sendAll(
                slowBody,
                Array(
                    ("POST /api/v1/build HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.adminToken)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"repo\"").utf8))

            // Act
            let silentClosed = try Self.secondsUntilClosed(silent, trickle: nil, limit: 15)
            let headersClosed = try Self.secondsUntilClosed(slowHeaders, trickle: Array("X-A: b\r\n".utf8), limit: 15)
            let bodyClosed = try Self.secondsUntilClosed(slowBody, trickle: nil, limit: 15)
            let normal = try await HTTP.request("GET", server.url("/status"))

            // Assert
            #expect(silentClosed != nil, "a silent connection stayed open")
            #expect(headersClosed != nil, "a client trickling its headers stayed connected")
            #expect((headersClosed ?? 0) < 8, "closed only after \(headersClosed ?? 0) s")
            #expect(bodyClosed != nil, "a client that stopped sending its body stayed connected")
            #expect(normal.status == 200)
        }
        await server.stop()
    }

    @Test("the default timeouts leave a client that pauses between requests alone")
    func keepAliveWithinTheTimeout() async throws {
        // Arrange
        // 10 s: far above the pause below even on a loaded machine, and still a real deadline that runs meanwhile.
        let server = try await Management.server(database: .sqlite) { $0["http-header-timeout-secs"] = 10 }
        try await withServerOutputOnFailure(server) {
            let connection = try RawHTTP.connectLoopback(port: server.port)
            defer { close(connection) }
            let request = Array("HEAD /repo/stable/config HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

            // Act
            try RawHTTP.sendAll(connection, request)
            let first = Self.readResponseHead(connection)
            try await Task.sleep(for: .seconds(1))
            try RawHTTP.sendAll(connection, request)
            let second = Self.readResponseHead(connection)

            // Assert
            #expect(RawHTTP.statusCode(of: first) == 200, "\(first)")
            #expect(RawHTTP.statusCode(of: second) == 200, "\(second)")
        }
        await server.stop()
    }

    /// Reads until the end of a response head (the tests send HEAD requests, so no body follows).
    static func readResponseHead(_ descriptor: Int32) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }
}
