import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Names are checked where they enter (issue #10, holes 3 and 4): against the real server, a bad app id, ref,
/// repo, check or delta name is a 400 `generic-error` and nothing is stored, queued or created.
@Suite("Name validation at the edge", .enabled(if: TestEnvironment.hasOSTree))
struct NameValidationTests {
    static let badAppIDs = [
        "org.test.Hello/../../../../etc", "org.test.Hello/..", "../../etc", "/etc", "org.test.", ".", "..", "",
        "-org.test.Hello", "org.test.Hel\u{0}lo", "org.test.Hellö", "org.test.1Hello",
        "org.test." + String(repeating: "x", count: 300),
    ]

    /// A bad name is the generic-error JSON whose message `matches`; a name with a NUL character never gets that
    /// far: any JSON body string with a NUL is refused while decoding, as a plain-text 400 (issue #10 hole 2's rule).
    static func expectNameRefused(_ response: HTTPResponse, _ name: String, message matches: (String) -> Bool) {
        if name.contains("\u{0}") {
            #expect(response.status == 400, "\(response.status) \(response.text)")
            #expect(response.text.contains("NUL character"), "\(response.text)")
            return
        }
        expectError(response, status: 400, type: "generic-error")
        #expect(matches(response.errorBody()?.message ?? ""), "\(response.text)")
    }

    @Test(
        "republish with a path or another bad app id is a 400 and creates no job", arguments: TestEnvironment.databases)
    func republishRefusesBadAppIDs(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange: a token for `org.test.`, as in the issue; its prefix matches every probe below.
            let token = try Management.token(scope: ["republish", "jobs"], prefixes: ["org.test."])

            for app in Self.badAppIDs {
                // Act
                let response = try await Management.call(
                    server, "POST", "/api/v1/repo/stable/republish", token: token, json: ["app": app])

                // Assert
                Self.expectNameRefused(response, app) { $0.hasPrefix("Invalid app id") }
            }
            let firstJob = try await Management.call(server, "GET", "/api/v1/job/1", token: server.adminToken)
            #expect(firstJob.status == 404, "a job was created: \(firstJob.text)")
        }
    }

    @Test("republish to an odd repo name is a 400 naming it", arguments: TestEnvironment.databases)
    func republishRefusesBadRepoNames(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            for repo in ["-stable", ".stable", "sta%20ble"] {
                // Act
                let response = try await Management.call(
                    server, "POST", "/api/v1/repo/\(repo)/republish", token: server.adminToken,
                    json: ["app": FixtureRepo.appID])

                // Assert
                expectError(response, status: 400, type: "generic-error")
                #expect(response.errorBody()?.message.hasPrefix("Invalid repo name") == true, "\(response.text)")
            }
        }
    }

    @Test(
        "build_ref with a bad ref name is a 400 and stores nothing; honest refs are stored",
        arguments: TestEnvironment.databases)
    func buildRefRefusesBadRefs(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let buildID = try await createBuild(on: server, json: ["repo": "stable"])
            let commit = String(repeating: "ab", count: 32)
            let bad = [
                "app/org.test.Hello/../-stable", "app/org.test.Hello/x86_64/-stable", "app/org.test.Hello/x86_64/..",
                "app/../x86_64/stable", "app/org.test.Hello/x86_64/.", "runtime/org.test.Platform/x86_64/sta ble",
                "app/org.test.Hello/x86_64/stable\u{0}", "app/org.test.Hellö/x86_64/stable", "screenshots/..",
                "screenshots/x86_64/../../etc", "app/org.test/x86_64/stable", "app//x86_64/stable",
                "app/org.test.Hello/x86-64/stable",
                "runtime/org.test.Platform/x86_64/" + String(repeating: "1", count: 300),
            ]
            let honest = [
                "app/org.test.Hello/x86_64/stable", "runtime/org.test.Platform/x86_64/1.0",
                "runtime/org.test.Hello.Locale/aarch64/stable", "screenshots/x86_64",
            ]

            // Act
            var badAnswers: [(String, HTTPResponse)] = []
            for ref in bad {
                let response = try await Management.call(
                    server, "POST", "/api/v1/build/\(buildID)/build_ref", token: server.adminToken,
                    json: ["ref": ref, "commit": commit])
                badAnswers.append((ref, response))
            }
            for ref in honest {
                _ = try await Management.object(
                    server, "POST", "/api/v1/build/\(buildID)/build_ref", token: server.adminToken,
                    json: ["ref": ref, "commit": commit])
            }
            let extended = try await Management.object(
                server, "GET", "/api/v1/build/\(buildID)/extended", token: server.adminToken)

            // Assert
            for (ref, response) in badAnswers {
                Self.expectNameRefused(response, ref) { $0 == "Invalid ref_name \(ref)" }
            }
            let stored = (extended["build_refs"] as? [[String: Any]] ?? []).compactMap { $0["ref_name"] as? String }
            #expect(stored.sorted() == honest.sorted(), "stored refs: \(stored)")
        }
    }

    @Test(
        "creating a build with a bad app id or repo name is a 400 and creates no build",
        arguments: TestEnvironment.databases)
    func createBuildRefusesBadNames(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let bodies: [[String: Any]] =
                Self.badAppIDs.map { ["repo": "stable", "app-id": $0] } + [
                    ["repo": "../stable"], ["repo": "-stable"], ["repo": "stable/.."], ["repo": "st\u{0}able"],
                ]

            for body in bodies {
                // Act
                let response = try await Management.call(
                    server, "POST", "/api/v1/build", token: server.adminToken, json: body)

                // Assert
                let names = body.values.compactMap { $0 as? String }.joined()
                Self.expectNameRefused(response, names) { $0.hasPrefix("Invalid ") }
            }
            let firstBuild = try await Management.call(server, "GET", "/api/v1/build/1", token: server.adminToken)
            #expect(firstBuild.status == 404, "a build was created: \(firstBuild.text)")
            // The server makes build-repo-base with the first build.
            let directories = (try? FileManager.default.contentsOfDirectory(atPath: server.buildRepoBase.path)) ?? []
            #expect(directories.isEmpty, "build directories were made: \(directories)")
        }
    }

    @Test(
        "extra ids with non-ASCII letters, paths or empty elements are a 400 and are not stored",
        arguments: TestEnvironment.databases)
    func addExtraIDsRefusesBadIDs(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let buildID = try await createBuild(on: server, json: ["repo": "stable"])

            for id in ["Frée", "Ｆree", "a/b", "..", "a..b", "-a", "a_b", "a\u{0}", String(repeating: "a", count: 300)] {
                // Act
                let response = try await Management.call(
                    server, "POST", "/api/v1/build/\(buildID)/add_extra_ids", token: server.adminToken,
                    json: ["ids": [id]])

                // Assert
                Self.expectNameRefused(response, id) { $0 == "Invalid extra id \(id)" }
            }
            let build = try await Management.object(
                server, "GET", "/api/v1/build/\(buildID)", token: server.adminToken)
            #expect((build["extra_ids"] as? [Any])?.isEmpty == true, "extra ids were stored: \(build)")
        }
    }

    @Test("listing builds by a bad app id is a 400", arguments: TestEnvironment.databases)
    func listBuildsRefusesBadAppIDs(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            for query in ["..%2F..%2Fetc", "org.test.", "%2Fetc", "org.test.Hello%00"] {
                // Act
                let response = try await HTTP.request(
                    "GET", server.url("/api/v1/build?app-id=\(query)"), token: server.adminToken)

                // Assert
                expectError(response, status: 400, type: "generic-error")
            }
            let honest = try await HTTP.request(
                "GET", server.url("/api/v1/build?app-id=\(FixtureRepo.appID)"), token: server.adminToken)
            #expect(honest.status == 200, "\(honest.text)")
        }
    }

    @Test("asking for a check job by a bad check name is a 400", arguments: TestEnvironment.databases)
    func checkJobRefusesBadCheckNames(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let buildID = try await createBuild(on: server, json: ["repo": "stable"])
            let headers = ["Authorization": "Bearer \(server.adminToken)"]

            for name in ["..", "-lint", ".lint", "li%20nt", "lint%00", "%C3%A4", "li%2Fnt"] {
                // Act
                let (status, raw) = try RawHTTP.get(
                    port: server.port, rawPath: "/api/v1/build/\(buildID)/check/\(name)/job", headers: headers)

                // Assert
                #expect(status == 400, "\(name): \(raw)")
                #expect(raw.contains("Invalid check name"), "\(name): \(raw)")
            }
            let (honest, raw) = try RawHTTP.get(
                port: server.port, rawPath: "/api/v1/build/\(buildID)/check/lint/job", headers: headers)
            #expect(honest == 404, "an honest unknown check is not found: \(raw)")
        }
    }

    @Test(
        "delta uploads to an odd repo name or with bad delta names are a 400 and store nothing",
        arguments: TestEnvironment.databases)
    func deltaUploadRefusesBadNames(database: DatabaseKind) async throws {
        try await withServer(database) { server in
            // Arrange
            let token = try Management.token(sub: "delta", scope: ["generate"])
            let name = String(repeating: "A", count: 43)
            let part = Multipart(parts: [("\(name).superblock.delta", Data("x".utf8))])
            let badParts = [
                "../../\(name).superblock.delta", "\(name).-1.delta", "\(name)..delta", "\(name).superblock.delta/x",
                "\(name.dropLast()).superblock.delta", "\(name)-.0.delta", "\(name).0.delta\u{0}", "\(name)é.0.delta",
            ]

            // Act
            var answers: [(String, HTTPResponse)] = []
            // (URLSession drops `..` segments, so the traversal probes use names it sends as they are.)
            for repo in ["-stable", ".stable", "_stable%20x"] {
                let response = try await HTTP.request(
                    "POST", server.url("/api/v1/delta/upload/\(repo)"), token: token, body: part.body,
                    contentType: part.contentType)
                answers.append((repo, response))
            }
            for fileName in badParts {
                let upload = Multipart(parts: [(fileName, Data("x".utf8))])
                let response = try await HTTP.request(
                    "POST", server.url("/api/v1/delta/upload/stable"), token: token, body: upload.body,
                    contentType: upload.contentType)
                answers.append((fileName, response))
            }

            // Assert
            for (probe, response) in answers {
                #expect(response.status == 400, "\(probe.debugDescription): \(response.text)")
            }
            for (repo, response) in answers.prefix(3) {
                #expect(
                    response.errorBody()?.message.hasPrefix("Invalid repo name") == true, "\(repo): \(response.text)")
            }
            let deltas = server.deltaNames()
            #expect(deltas.isEmpty, "delta parts were stored: \(deltas)")
        }
    }

    // MARK: - Helpers

    /// Creates a build with the admin token; returns its id.
    private func createBuild(on server: TestServer, json: [String: Any]) async throws -> Int {
        let build = try await Management.object(server, "POST", "/api/v1/build", token: server.adminToken, json: json)
        return try #require(build["id"] as? Int)
    }
}
