import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Behaviours upstream 0.5.3's operators rely on (issue #12): publish removes the build directory, and hooks run
/// with the server's environment (narrowed only when `hook-environment` says so).
@Suite("Upstream 0.5.3 parity", .enabled(if: TestEnvironment.hasOSTree))
struct UpstreamParityTests {
    @Test(
        "a successful publish removes the build directory; /build-repo/ID is a 404 and the build record stays",
        arguments: TestEnvironment.databases)
    func publishRemovesTheBuildDirectory(database: DatabaseKind) async throws {
        // Arrange
        try await withTestServer(database: database) { server in
            let token = server.adminToken
            let client = try Client(token: token)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let before = try await HTTP.request("GET", server.url("/build-repo/\(build)/config"))

            // Act
            let job = try await Management.publishJob(server, build: build, token: token)
            let after = try await HTTP.request("GET", server.url("/build-repo/\(build)/config"))
            let record = try await Management.object(server, "GET", "/api/v1/build/\(build)", token: token)
            let purge = try await Management.call(
                server, "POST", "/api/v1/build/\(build)/purge", token: token, json: [:])

            // Assert
            #expect(before.status == 200)
            #expect(job["status"] as? Int == 2, "\(job)")
            #expect((job["log"] as? String)?.contains("Removing build \(build)") == true, "\(job)")
            #expect(
                !FileManager.default.fileExists(atPath: server.buildRepoBase.appendingPathComponent("\(build)").path))
            #expect(after.status == 404, "\(after.status) \(after.text)")
            #expect(after.headers["content-type"]?.hasPrefix("application/json") != true, "a plain 404")
            #expect(record["published_state"] as? Int == 2)
            #expect(purge.status == 200 || purge.status == 400, "purge still answers: \(purge.status) \(purge.text)")
        }
    }

    /// Publishes a build on a server whose environment has `OPERATOR_SETTING` and whose publish hook writes
    /// `$OPERATOR_SETTING $FLAT_MANAGER_BUILD_ID` to a file; returns the publish job, the build id and what the
    /// hook wrote.
    static func publishWithHook(
        database: DatabaseKind, configure: @escaping (inout [String: Any]) throws -> Void = { _ in }
    ) async throws -> (job: [String: Any], build: Int, seen: String) {
        let scripts = try TempDirectory(prefix: "flat-manager-hook-env")
        let hook = try Management.script(
            "publish-hook.sh", in: scripts,
            "echo \"${OPERATOR_SETTING:-unset} ${FLAT_MANAGER_BUILD_ID:-none}\" > \(scripts.path)/seen")
        let server = try await Management.server(
            database: database, environment: ["OPERATOR_SETTING": "from-the-server"]
        ) { config in
            try configure(&config)
            try Management.setRepoKey("hooks", ["publish": [hook]], in: &config)
        }
        let result = try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let build = try await Management.committedBuild(version: "1", server: server, client: client)
            let job = try await Management.publishJob(server, build: build, token: server.adminToken)
            let seen = (try? String(contentsOfFile: scripts.path + "/seen", encoding: .utf8)) ?? ""
            return (job, build, seen)
        }
        await server.stop()
        return result
    }

    @Test("a publish hook sees a variable that only the server's environment has", arguments: TestEnvironment.databases)
    func hookSeesTheServersEnvironment(database: DatabaseKind) async throws {
        // Act
        let (job, build, seen) = try await Self.publishWithHook(database: database)

        // Assert
        #expect(job["status"] as? Int == 2, "\(job)")
        #expect(seen == "from-the-server \(build)\n")
    }

    @Test("hook-environment narrows what hooks inherit to the names it lists")
    func allowListNarrowsTheEnvironment() async throws {
        // Act
        let (job, build, seen) = try await Self.publishWithHook(database: .sqlite) { config in
            config["hook-environment"] = ["PATH", "HOME"]
        }

        // Assert
        #expect(job["status"] as? Int == 2, "\(job)")
        #expect(seen == "unset \(build)\n")
    }
}
