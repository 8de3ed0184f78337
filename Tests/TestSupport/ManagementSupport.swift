import FlatManagerCore
import Foundation
import Testing

/// What the management tests (checks, hooks, republish, tokens, protected downloads, purge, prune) share: a server
/// whose config gets extra keys, the JSON API, job polling, and small scripts written to a temporary directory.
package enum Management {
    /// A started server whose config has been changed by `configure` (it is started once with the harness's
    /// config, stopped, reconfigured and started again, so the harness itself stays untouched).
    package static func server(
        database: DatabaseKind, environment: [String: String] = [:],
        configure: (inout [String: Any]) throws -> Void
    ) async throws -> TestServer {
        let server = try await TestServer(database: database, environment: environment)
        await server.stop()
        let data = try Data(contentsOf: server.configPath)
        guard var config = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError.unexpected("config.json is not an object")
        }
        try configure(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: server.configPath)
        try await server.start()
        return server
    }

    /// Sets `repos.stable.<key>` in a config dictionary.
    package static func setRepoKey(_ key: String, _ value: Any, in config: inout [String: Any]) throws {
        guard var repos = config["repos"] as? [String: Any], var stable = repos["stable"] as? [String: Any] else {
            throw TestSupportError.unexpected("config has no repos.stable")
        }
        stable[key] = value
        repos["stable"] = stable
        config["repos"] = repos
    }

    /// An executable `/bin/sh` script `name` in `directory` with `body` after the shebang.
    package static func script(_ name: String, in directory: TempDirectory, _ body: String) throws -> String {
        let url = directory.appending(name)
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    /// The numeric build id at the end of a build URL printed by `create`.
    package static func buildID(_ buildURL: String) throws -> Int {
        guard let id = buildURL.split(separator: "/").last.flatMap({ Int($0) }) else {
            throw TestSupportError.unexpected("no build id in \(buildURL)")
        }
        return id
    }

    /// A request to the API with a JSON body; the response whatever its status.
    package static func call(
        _ server: TestServer, _ method: String, _ path: String, token: String?, json: Any? = nil
    ) async throws -> HTTPResponse {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await HTTP.request(
            method, server.url(path), token: token, body: body, contentType: body == nil ? nil : "application/json")
    }

    /// The JSON object of a 200 answer; throws with the body otherwise.
    package static func object(
        _ server: TestServer, _ method: String, _ path: String, token: String?, json: Any? = nil
    ) async throws -> [String: Any] {
        let response = try await call(server, method, path, token: token, json: json)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else {
            throw TestSupportError.unexpected("\(method) \(path) answered \(response.status): \(response.text)")
        }
        return object
    }

    /// Polls `GET path` (a job or a build) until `done` holds for its JSON, for at most `timeout`.
    package static func waitFor(
        _ server: TestServer, _ path: String, token: String, timeout: Duration = .seconds(180),
        until done: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let object = try await object(server, "GET", path, token: token)
            if done(object) { return object }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("\(path) never reached the wanted state: \(object)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Waits until the job has ended (2) or broken (3) and returns it.
    package static func finishedJob(_ server: TestServer, id: Int, token: String) async throws -> [String: Any] {
        try await waitFor(server, "/api/v1/job/\(id)", token: token) { job in
            let status = job["status"] as? Int ?? 0
            return status == 2 || status == 3
        }
    }

    /// The checks of a build from `GET /api/v1/build/{id}/extended`, by name.
    package static func checks(_ server: TestServer, build: Int, token: String) async throws -> [String: [String: Any]]
    {
        let extended = try await object(server, "GET", "/api/v1/build/\(build)/extended", token: token)
        let list = extended["checks"] as? [[String: Any]] ?? []
        var byName: [String: [String: Any]] = [:]
        for check in list {
            if let name = check["check_name"] as? String { byName[name] = check }
        }
        return byName
    }

    /// Waits until every check of the build has left Pending (its job ran).
    package static func settledChecks(
        _ server: TestServer, build: Int, count: Int, token: String
    ) async throws -> [String: [String: Any]] {
        let deadline = ContinuousClock.now + .seconds(180)
        while true {
            let checks = try await checks(server, build: build, token: token)
            let settled = checks.values.filter { ($0["status"] as? Int ?? 0) != 0 }
            if checks.count == count, settled.count == count { return checks }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("checks of build \(build) never settled: \(checks)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// `ostree refs` of a repository, sorted, with the commit each points at.
    package static func refs(of repo: URL) async throws -> [String: String] {
        let ostree = try tool("ostree")
        let names = try await ProcessRunner.check(ostree, ["refs", "--repo=\(repo.path)"]).stdout
            .split(whereSeparator: \.isNewline).map(String.init)
        var refs: [String: String] = [:]
        for name in names {
            refs[name] = try await ProcessRunner.check(ostree, ["rev-parse", "--repo=\(repo.path)", name]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return refs
    }

    /// The fixture app's ref for this machine's default architecture.
    package static func appRef() async throws -> String {
        let arch = try await ProcessRunner.check(try tool("flatpak"), ["--default-arch"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return FixtureRepo.appRef(arch: arch)
    }

    /// A program on PATH, or a missing-prerequisite error.
    package static func tool(_ name: String) throws -> URL {
        guard let url = TestEnvironment.executable(named: name) else {
            throw TestSupportError.missingPrerequisite(name)
        }
        return url
    }

    /// A token signed with the server's secret, valid for an hour, with these claims.
    package static func token(
        sub: String = "build", scope: [String], prefixes: [String] = [""], repos: [String] = [""],
        branches: [String] = [""], jti: String? = nil, name: String = "test", lifetime: Int64 = 3600
    ) throws -> String {
        let claims = Claims(
            sub: sub, exp: Int64(Date().timeIntervalSince1970) + lifetime, name: name, jti: jti, scope: scope,
            prefixes: prefixes, repos: repos, branches: branches)
        return try TestServer.signToken(claims)
    }

    /// create → push of the fixture app at `version` with the client; returns the build URL `create` printed.
    package static func pushedBuild(version: String, server: TestServer, client: Client) async throws -> String {
        let fixture = try await FixtureRepo.shared.repository(version: version)
        let buildURL = try await client.createBuild(managerURL: server.managerURL)
        try await client.check(["push", buildURL, fixture.path])
        return buildURL
    }

    /// create → push → commit (waiting for the commit job) with the client; returns the build id. The client's
    /// `commit --wait` also follows the checks and exits 1 when one fails: with `checksMayFail` only the commit job
    /// itself has to succeed.
    package static func committedBuild(
        version: String, server: TestServer, client: Client, commitArguments: [String] = [],
        checksMayFail: Bool = false
    ) async throws -> Int {
        let buildURL = try await pushedBuild(version: version, server: server, client: client)
        let arguments = ["commit", "--wait"] + commitArguments + [buildURL]
        let id = try buildID(buildURL)
        if checksMayFail {
            _ = try await client.run(arguments)
            let job = try await waitFor(server, "/api/v1/build/\(id)/commit", token: server.adminToken) {
                ($0["status"] as? Int ?? 0) >= 2
            }
            #expect(job["status"] as? Int == 2, "commit job: \(job)")
        } else {
            try await client.check(arguments)
        }
        return id
    }

    /// Starts a publish through the API and waits for the publish job; returns it.
    package static func publishJob(_ server: TestServer, build: Int, token: String) async throws -> [String: Any] {
        let job = try await object(server, "POST", "/api/v1/build/\(build)/publish", token: token, json: [:])
        let id = try #require(job["id"] as? Int)
        return try await finishedJob(server, id: id, token: token)
    }

    /// The `update-repo-job` of a finished publish or republish job, waited for.
    package static func waitForUpdate(_ server: TestServer, after job: [String: Any], token: String) async throws {
        let results = try results(job)
        let update = try #require(results["update-repo-job"] as? Int, "no update-repo-job in \(results)")
        let finished = try await finishedJob(server, id: update, token: token)
        #expect(finished["status"] as? Int == 2, "update-repo job: \(finished)")
    }

    /// A member of a JSON object body (e.g. `current-state` of an error), as text.
    package static func member(_ name: String, of response: HTTPResponse) -> String? {
        let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        return object?[name] as? String
    }

    /// The job's `results` member decoded (it is JSON in a string).
    package static func results(_ job: [String: Any]) throws -> [String: Any] {
        let text = job["results"] as? String ?? "{}"
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }
}
