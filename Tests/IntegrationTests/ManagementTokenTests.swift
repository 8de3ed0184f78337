import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #3, token administration against the real server: subsets, usage, revocation, the opt-in branch check.
@Suite("Management: tokens", .enabled(if: TestEnvironment.hasOSTree))
struct ManagementTokenTests {
    /// The claims of a JWT, read from its payload (no verification: the server signed it).
    static func claims(of token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { throw TestSupportError.unexpected("not a JWT: \(token)") }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw TestSupportError.unexpected("unreadable JWT payload: \(token)") }
        return object
    }

    @Test("a subset token cannot widen any claim of its parent", arguments: TestEnvironment.databases)
    func subsetCannotWiden(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let parent = try Management.token(
                sub: "build", scope: ["build", "upload"], prefixes: ["org.test"], repos: ["stable"],
                branches: ["stable"], jti: "parent-\(UUID().uuidString)", name: "ci")
            let base: [String: Any] = ["sub": "build/1", "scope": ["upload"], "duration": 600, "name": "narrow"]
            let widening: [(String, [String: Any])] = [
                ("lifetime", ["duration": 7200]),
                ("scope", ["scope": ["upload", "publish"]]),
                ("prefix", ["prefixes": ["org"]]),
                ("empty prefix list", ["prefixes": [String]()]),
                ("app", ["apps": ["org.evil.App"]]),
                ("repo", ["repos": ["beta"]]),
                ("every repo", ["repos": [""]]),
            ]

            // Act
            var refused: [String: HTTPResponse] = [:]
            for (what, change) in widening {
                let body = base.merging(change) { _, new in new }
                refused[what] = try await Management.call(
                    server, "POST", "/api/v1/token_subset", token: parent, json: body)
            }
            let wider = try await Management.call(
                server, "POST", "/api/v1/token_subset", token: parent,
                json: base.merging(["sub": "", "scope": ["upload"]]) { _, new in new })
            let granted = try await Management.object(
                server, "POST", "/api/v1/token_subset", token: parent,
                json: base.merging(["prefixes": ["org.test.Hello"]]) { _, new in new })
            let child = try #require(granted["token"] as? String)
            let childClaims = try Self.claims(of: child)

            // Assert
            for (what, response) in refused {
                #expect(response.status == 403, "\(what): \(response.text)")
                #expect(response.errorBody()?.message == "Not enough permissions: No token presented", "\(what)")
            }
            #expect(wider.status == 403)
            #expect(childClaims["branches"] as? [String] == ["stable"])
            #expect(childClaims["prefixes"] as? [String] == ["org.test.Hello"])
            #expect(childClaims["repos"] as? [String] == ["stable"])
            #expect(childClaims["scope"] as? [String] == ["upload"])
            let exp = try #require(childClaims["exp"] as? Int)
            #expect(exp <= Int(Date().timeIntervalSince1970) + 600)
        }
    }

    @Test(
        "get_list shows a token's use, and once revoked it and its subsets get 401",
        arguments: TestEnvironment.databases)
    func revocationAndUsage(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let jti = "ci-\(UUID().uuidString)"
            let token = try Management.token(scope: ["build", "jobs"], jti: jti)
            let manager = try Management.token(sub: "", scope: ["tokenmanagement"])
            let subset = try #require(
                try await Management.object(
                    server, "POST", "/api/v1/token_subset", token: token,
                    json: ["sub": "build", "scope": ["build"], "duration": 60, "name": "sub"])["token"] as? String)

            // Act
            let firstUse = try await Management.call(server, "GET", "/api/v1/build", token: token)
            let usage = try await Management.call(
                server, "POST", "/api/v1/tokens/get_list", token: manager, json: ["token_ids": [jti, "unknown"]])
            let revoke = try await Management.call(
                server, "POST", "/api/v1/tokens/revoke", token: manager, json: ["token_ids": [jti]])
            let afterRevoke = try await Management.call(server, "GET", "/api/v1/build", token: token)
            let subsetAfterRevoke = try await Management.call(server, "GET", "/api/v1/build", token: subset)
            let revokedUsage = try await Management.call(
                server, "POST", "/api/v1/tokens/get_list", token: manager, json: ["token_ids": [jti]])
            let notManager = try await Management.call(
                server, "POST", "/api/v1/tokens/get_list", token: server.adminToken, json: ["token_ids": [jti]])

            // Assert
            #expect(firstUse.status == 200)
            let records = try #require(try JSONSerialization.jsonObject(with: usage.body) as? [[String: Any]])
            #expect(records.count == 1)
            #expect(records.first?["token_id"] as? String == jti)
            #expect(records.first?["last_used"] is String, "\(records)")
            #expect(records.first?["expires"] is String)
            #expect(records.first?["revoked_at"] is NSNull)
            #expect(revoke.status == 204)
            #expect(afterRevoke.status == 401)
            #expect(afterRevoke.errorBody()?.message.contains("revoked") == true, "\(afterRevoke.text)")
            #expect(subsetAfterRevoke.status == 401)
            let revoked = try #require(try JSONSerialization.jsonObject(with: revokedUsage.body) as? [[String: Any]])
            #expect(revoked.first?["revoked_at"] is String, "\(revoked)")
            #expect(notManager.status == 403)
        }
    }

    @Test(
        "with enforce-branches a build ref outside the token's branches is refused",
        arguments: TestEnvironment.databases)
    func branchesAreEnforcedWhenEnabled(database: DatabaseKind) async throws {
        // Arrange
        let server = try await Management.server(database: database) { config in
            config["enforce-branches"] = true
        }
        try await withServerOutputOnFailure(server) {
            let scopes = ["build", "upload"]
            let betaOnly = try Management.token(scope: scopes, branches: ["beta"])
            let stableOnly = try Management.token(scope: scopes, branches: ["stable"])
            let build = try await Management.object(
                server, "POST", "/api/v1/build", token: betaOnly, json: ["repo": "stable"])
            let id = try #require(build["id"] as? Int)
            let ref = ["ref": "app/org.test.Hello/x86_64/stable", "commit": String(repeating: "a", count: 64)]

            // Act
            let refused = try await Management.call(
                server, "POST", "/api/v1/build/\(id)/build_ref", token: betaOnly, json: ref)
            let allowed = try await Management.call(
                server, "POST", "/api/v1/build/\(id)/build_ref", token: stableOnly, json: ref)

            // Assert
            #expect(refused.status == 403, "\(refused.text)")
            #expect(refused.errorBody()?.message.contains("stable") == true)
            #expect(allowed.status == 200, "\(allowed.text)")
        }
        await server.stop()
    }
}
