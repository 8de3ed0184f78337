import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Hostile and broken requests over plain HTTP: each is refused with the right status and error body, serves
/// nothing it should not, and leaves the server answering.
@Suite("Bad input", .enabled(if: TestEnvironment.hasOSTree))
struct BadInputTests {
    @Test("an API request without a token is refused with 401 invalid-token", arguments: TestEnvironment.databases)
    func missingTokenIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Act
            let response = try await HTTP.request("GET", server.url("/api/v1/build"))

            // Assert
            expectError(response, status: 401, type: "invalid-token")
        }
    }

    @Test("a token signed with another secret is refused with 401 invalid-token", arguments: TestEnvironment.databases)
    func badSignatureIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try TestServer.signToken(
                Self.claims(), base64Secret: Data("not the secret".utf8).base64EncodedString())

            // Act
            let response = try await HTTP.request("GET", server.url("/api/v1/build"), token: token)

            // Assert
            expectError(response, status: 401, type: "invalid-token")
        }
    }

    @Test("an expired token is refused with 401 invalid-token", arguments: TestEnvironment.databases)
    func expiredTokenIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try TestServer.signToken(Self.claims(expiresIn: -60))

            // Act
            let response = try await HTTP.request("GET", server.url("/api/v1/build"), token: token)

            // Assert
            expectError(response, status: 401, type: "invalid-token")
        }
    }

    @Test(
        "a token for another repo cannot create a build: 403 token-insufficient", arguments: TestEnvironment.databases)
    func tokenForAnotherRepoIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try TestServer.signToken(Self.claims(repos: ["beta"]))

            // Act
            let response = try await HTTP.postJSON(
                server.url("/api/v1/build"), CreateBuildRequest(repo: "stable"), token: token)

            // Assert
            expectError(response, status: 403, type: "token-insufficient")
        }
    }

    @Test(
        "path traversal probes get a 4xx and never a file outside the repositories",
        arguments: TestEnvironment.databases)
    func traversalProbesServeNothingOutside(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let sentinel = "sentinel-\(UUID().uuidString)"
            try Data(sentinel.utf8).write(to: server.directory.appending("outside.txt"))
            let buildID = try await createBuild(on: server)
            let probes = [
                "/repo/stable/..%2F..%2Fetc/passwd", "/repo/stable/../../x", "/repo/stable/../outside.txt",
                "/repo/stable/..%2Foutside.txt", "/repo/stable/%2e%2e/outside.txt", "/repo/stable/.git",
                "/repo/stable/objects/../../outside.txt", "/repo/..%2Foutside.txt",
                "/repo/stable/%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
                "/build-repo/\(buildID)/../../../etc/passwd", "/build-repo/\(buildID)/..%2F..%2Foutside.txt",
                "/build-repo/\(buildID)/parent/../../outside.txt", "/build-repo/\(buildID)/.ostree",
            ]

            for probe in probes {
                // Act
                let (status, raw) = try RawHTTP.get(port: server.port, rawPath: probe)

                // Assert
                #expect((400..<500).contains(status), "\(probe) answered \(status)")
                #expect(!raw.contains(sentinel), "\(probe) served a file outside the repositories")
                #expect(!raw.contains("root:x:0:0"), "\(probe) served /etc/passwd")
            }
            #expect(await server.isAnswering())
        }
    }

    @Test("malformed JSON when creating a build is a 400", arguments: TestEnvironment.databases)
    func malformedJSONIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Act
            let response = try await HTTP.request(
                "POST", server.url("/api/v1/build"), token: server.adminToken, body: Data("{\"repo\": ".utf8),
                contentType: "application/json")

            // Assert
            #expect(response.status == 400, "\(response.text)")
        }
    }

    @Test("malformed multipart uploads are a 400", arguments: TestEnvironment.databases)
    func malformedMultipartIsRefused(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let buildID = try await createBuild(on: server)
            let noFilename =
                "--b0undary\r\nContent-Disposition: form-data; name=\"file0\"\r\n\r\nabc\r\n--b0undary--\r\n"
            let bodies = [
                ("multipart/form-data; boundary=b0undary", "this is not multipart at all"),
                (
                    "multipart/form-data; boundary=b0undary",
                    "--b0undary\r\nContent-Disposition: form-data; filename=\"x"
                ),
                ("multipart/form-data; boundary=b0undary", noFilename),
                ("multipart/form-data", "--b0undary\r\n\r\n--b0undary--\r\n"),
            ]

            for (contentType, body) in bodies {
                // Act
                let response = try await HTTP.request(
                    "POST", server.url("/api/v1/build/\(buildID)/upload"), token: server.adminToken,
                    body: Data(body.utf8), contentType: contentType)

                // Assert
                #expect(response.status == 400, "body \(body.debugDescription): \(response.status) \(response.text)")
            }
            #expect(await server.isAnswering())
        }
    }

    @Test(
        "an object whose bytes do not match its checksum name is refused and not stored",
        arguments: TestEnvironment.databases)
    func corruptedObjectIsNotStored(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let buildID = try await createBuild(on: server)
            let checksum = Self.randomChecksum()
            let upload = Multipart(parts: [("\(checksum).dirtree", Data("these bytes are not that dirtree".utf8))])

            // Act
            let response = try await HTTP.request(
                "POST", server.url("/api/v1/build/\(buildID)/upload"), token: server.adminToken, body: upload.body,
                contentType: upload.contentType)

            // Assert
            #expect(response.status == 400, "\(response.text)")
            let stored = server.buildRepoBase.appendingPathComponent(
                "\(buildID)/upload/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).dirtree")
            #expect(!FileManager.default.fileExists(atPath: stored.path))
            #expect(await server.isAnswering())
        }
    }

    // MARK: - Helpers

    /// Creates a public build in `stable` with the admin token; returns its id.
    private func createBuild(on server: TestServer) async throws -> Int32 {
        let response = try await HTTP.postJSON(
            server.url("/api/v1/build"), CreateBuildRequest(repo: "stable"), token: server.adminToken)
        guard response.status == 200 else {
            throw TestSupportError.unexpected("create build: \(response.status) \(response.text)")
        }
        return try JSONDecoder().decode(Build.self, from: response.body).id
    }

    private static func claims(expiresIn seconds: Int64 = 3600, repos: [String] = [""]) -> Claims {
        Claims(
            sub: "build", exp: Int64(Date().timeIntervalSince1970) + seconds, name: "test",
            scope: ["build", "upload", "download", "publish", "jobs"], prefixes: [""], repos: repos, branches: [""])
    }

    /// 64 lowercase hex digits that are nobody's checksum.
    private static func randomChecksum() -> String {
        let hex = (0..<2).map { _ in UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }.joined()
        return String(hex.prefix(64))
    }
}

/// Expects the upstream error JSON with this status and error-type (api.md §2).
func expectError(
    _ response: HTTPResponse, status: Int, type: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    let body = response.errorBody()
    #expect(body?.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(body?.errorType == type, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(body?.message.isEmpty == false, "body: \(response.text)", sourceLocation: sourceLocation)
}

/// A multipart/form-data body as the 0.5 client sends it.
struct Multipart {
    let boundary = "fm-test-" + UUID().uuidString
    let parts: [(filename: String, content: Data)]

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    var body: Data {
        var data = Data()
        for (index, part) in parts.enumerated() {
            data.append(Data("--\(boundary)\r\n".utf8))
            data.append(
                Data("Content-Disposition: form-data; name=\"file\(index)\"; filename=\"\(part.filename)\"\r\n".utf8))
            data.append(Data("Content-Type: application/octet-stream\r\n\r\n".utf8))
            data.append(part.content)
            data.append(Data("\r\n".utf8))
        }
        data.append(Data("--\(boundary)--\r\n".utf8))
        return data
    }
}
