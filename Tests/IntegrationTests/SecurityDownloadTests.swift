import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #10, hole 5: the token-type protection of a commit holds on every route that can serve the commit's file,
/// `/build-repo/{id}` with its main-repo fallback and its `parent` link included, not only on `/repo`.
@Suite("Security: protected downloads on every route", .enabled(if: TestEnvironment.hasOSTree))
struct SecurityDownloadTests {
    /// `objects/xx/rest.commit` of a checksum.
    static func commitPath(_ checksum: String) -> String {
        "objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).commit"
    }

    @Test(
        "a protected commit is refused anonymously through /build-repo, its fallback and its parent link",
        arguments: TestEnvironment.databases)
    func protectedCommitThroughBuildRepo(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey("require-auth-for-token-types", [1], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let token = server.adminToken
            let client = try Client(token: token)
            let appRef = try await Management.appRef()
            let published = try await Management.committedBuild(
                version: "1", server: server, client: client, commitArguments: ["--token-type", "1"])
            let ownRef = try await HTTP.request("GET", server.url("/build-repo/\(published)/refs/heads/\(appRef)"))
            let ownCommit = ownRef.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let ownAnonymous = try await HTTP.request(
                "GET", server.url("/build-repo/\(published)/\(Self.commitPath(ownCommit))"))
            let job = try await Management.publishJob(server, build: published, token: token)
            try await Management.waitForUpdate(server, after: job, token: token)
            let mainCommit = try #require(try await Management.refs(of: server.repoPath)[appRef])
            // A fresh build (public: no app id) whose directory falls back to the main repository.
            let other = try #require(
                try await Management.object(server, "POST", "/api/v1/build", token: token, json: ["repo": "stable"])[
                    "id"] as? Int)
            let covering = try Management.token(scope: [], prefixes: [FixtureRepo.appID])
            let wrongApp = try Management.token(scope: [], prefixes: ["org.other"])
            let routes = [
                "/build-repo/\(other)/\(Self.commitPath(mainCommit))",
                "/build-repo/\(other)/parent/\(Self.commitPath(mainCommit))",
            ]

            // Act
            var anonymous: [HTTPResponse] = []
            var refusedApp: [HTTPResponse] = []
            var allowed: [HTTPResponse] = []
            for route in routes {
                anonymous.append(try await HTTP.request("GET", server.url(route)))
                refusedApp.append(try await HTTP.request("GET", server.url(route), token: wrongApp))
                allowed.append(try await HTTP.request("GET", server.url(route), token: covering))
            }
            let main = try await HTTP.request("GET", server.url("/repo/stable/\(Self.commitPath(mainCommit))"))

            // Assert
            #expect(ownRef.status == 200 && ownCommit.count == 64, "\(ownRef.status) \(ownRef.text)")
            #expect(ownAnonymous.status == 403, "own commit in the build repo: \(ownAnonymous.status)")
            #expect(ownAnonymous.headers["cache-control"] == "no-store")
            #expect(main.status == 403)
            for (index, route) in routes.enumerated() {
                #expect(anonymous[index].status == 403, "\(route) anonymous: \(anonymous[index].status)")
                #expect(anonymous[index].headers["cache-control"] == "no-store", "\(route)")
                #expect(
                    Management.member("error-type", of: anonymous[index]) == "token-insufficient",
                    "\(route): \(anonymous[index].text)")
                #expect(refusedApp[index].status == 403, "\(route) with another app's token")
                #expect(allowed[index].status == 200, "\(route) with a covering token: \(allowed[index].text)")
                #expect(!allowed[index].body.isEmpty, "\(route)")
            }
        }
        await server.stop()
    }

    @Test("unprotected files of a build repo are still served anonymously", arguments: TestEnvironment.databases)
    func unprotectedFilesStayPublic(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            try Management.setRepoKey("require-auth-for-token-types", [1], in: &config)
        }
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let appRef = try await Management.appRef()
            let ref = try await HTTP.request("GET", server.url("/build-repo/\(build)/refs/heads/\(appRef)"))
            let commit = ref.text.trimmingCharacters(in: .whitespacesAndNewlines)

            // Act
            let config = try await HTTP.request("GET", server.url("/build-repo/\(build)/config"))
            let object = try await HTTP.request("GET", server.url("/build-repo/\(build)/\(Self.commitPath(commit))"))

            // Assert
            #expect(config.status == 200)
            #expect(object.status == 200, "token type 0 is not protected: \(object.text)")
            #expect(object.headers["cache-control"] != "no-store")
        }
        await server.stop()
    }
}
