import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Generated conformance (issue #6): schemathesis derives requests from the served OpenAPI document, valid and
/// invalid, sends them to a real server holding real builds, jobs and refs, and holds every response to the
/// document. `OpsTests.responsesConformToTheOpenAPIDocument` keeps checking the flows it cannot reach (push, a
/// successful commit and publish).
@Suite("OpenAPI conformance", .enabled(if: TestEnvironment.hasOSTree), .enabled(if: TestEnvironment.hasSchemathesis))
struct OpenAPIConformanceTests {
    /// Not fuzzed: the delta worker websocket `/delta/worker`, left out of the document (a websocket upgrade is no
    /// request/response operation; schemathesis would only see refused upgrades). The uploads (`/build/{id}/upload`,
    /// `/delta/upload/{repo}`) stay in: generated multipart bodies are small and finite, nothing streams forever.
    static let excludedPaths: [String] = []

    /// Examples per operation and phase; with the seed fixed, a run is the same every time.
    static let maxExamples = 40
    static let seed = 20_261_128

    @Test("every generated request gets a response the OpenAPI document allows", arguments: TestEnvironment.databases)
    func generatedRequestsGetDocumentedResponses(database: DatabaseKind) async throws {
        // Arrange
        _ = try TestEnvironment.requireSchemathesis()  // before the server: a missing tool fails at once
        try await withTestServer(database: database) { server in
            let known = try await Self.makeResources(on: server)
            let document = try await HTTP.request("GET", server.url("/openapi.yaml"))
            let directory = try TempDirectory(prefix: "flat-manager-openapi-doc")
            let documentFile = directory.appending("openapi.yaml")
            try document.body.write(to: documentFile)

            // Act
            let run = try await Schemathesis.run(
                document: documentFile, server: server, tokens: try Self.tokens(server), known: known,
                excludedPaths: Self.excludedPaths, maxExamples: Self.maxExamples, seed: Self.seed)

            // Assert
            #expect(document.status == 200)
            #expect(
                run.result.status == 0,
                "\(run.command)\n--- stdout ---\n\(run.result.stdout)\n--- stderr ---\n\(run.result.stderr)")
        }
    }

    /// What the generated requests find on the server: a published build (with its commit, publish and
    /// update-repo jobs and its ref), a build still uploading with a registered ref and an app id, and a build
    /// whose commit failed (no refs) and has no app id.
    static func makeResources(on server: TestServer) async throws -> Schemathesis.KnownIDs {
        let client = try Client(token: server.adminToken)
        let published = try await publish(version: "1", to: server, with: client)
        let publishedID = try #require(published.split(separator: "/").last.flatMap { Int($0) })
        let uploading = try await post(
            "/build", #"{"repo":"stable","app-id":"\#(FixtureRepo.appID)"}"#, Build.self, on: server)
        let ref = try await post(
            "/build/\(uploading.id)/build_ref",
            #"{"ref":"app/\#(FixtureRepo.appID)/x86_64/stable","commit":"\#(String(repeating: "c", count: 64))"}"#,
            BuildRef.self, on: server)
        let failing = try await post("/build", #"{"repo":"stable"}"#, Build.self, on: server)
        let failedCommit = try await post("/build/\(failing.id)/commit", "{}", Job.self, on: server)
        let extended = try await HTTP.request(
            "GET", server.url("/api/v1/build/\(publishedID)/extended"), token: server.adminToken)
        let publishedBuild = try JSONDecoder().decode(ExtendedBuild.self, from: extended.body)
        let jobs = [publishedBuild.build.commitJobID, publishedBuild.build.publishJobID, failedCommit.id]
        return Schemathesis.KnownIDs(
            build: [publishedID, Int(uploading.id), Int(failing.id)], job: jobs.compactMap { $0.map(Int.init) },
            ref: publishedBuild.buildRefs.map { Int($0.id) } + [Int(ref.id)])
    }

    /// A POST with a JSON body as the admin, decoded; anything but 200 throws with the response.
    static func post<T: Decodable>(_ path: String, _ json: String, _ type: T.Type, on server: TestServer)
        async throws -> T
    {
        let response = try await HTTP.request(
            "POST", server.url("/api/v1" + path), token: server.adminToken, body: Data(json.utf8),
            contentType: "application/json")
        guard response.status == 200 else {
            throw TestSupportError.unexpected("POST \(path): \(response.status) \(response.text)")
        }
        return try JSONDecoder().decode(T.self, from: response.body)
    }

    /// The admin token for most routes; for `/tokens/*` one with `sub` "" (api.md §4.1), for `/delta/*` one with
    /// `sub` "delta" and the `generate` scope (api.md §4.19).
    static func tokens(_ server: TestServer) throws -> Schemathesis.Tokens {
        let exp = Int64(Date().timeIntervalSince1970) + 3600
        let tokenManagement = try TestServer.signToken(
            Claims(
                sub: "", exp: exp, name: "token-manager", scope: ["tokenmanagement"], prefixes: [""], repos: [""],
                branches: [""]))
        let delta = try TestServer.signToken(
            Claims(sub: "delta", exp: exp, name: "delta", scope: ["generate"], prefixes: [""], repos: [""]))
        return Schemathesis.Tokens(build: server.adminToken, tokenManagement: tokenManagement, delta: delta)
    }
}
