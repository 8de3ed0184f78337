import Foundation

/// Runs our `flat-manager-client` executable the way a CI script would.
package struct Client: Sendable {
    package let executable: URL
    package let token: String?
    /// Added to the test's environment (e.g. the client's `FLAT_MANAGER_CLIENT_*` tunables).
    package let environment: [String: String]

    package init(token: String?, environment: [String: String] = [:]) throws {
        executable = try Binaries.url(of: Binaries.client)
        self.token = token
        self.environment = environment
    }

    /// `flat-manager-client [--token T] ARGS...`; the result whatever the exit status.
    package func run(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> ProcessResult {
        var environment = TestEnvironment.environment
        environment["REPO_TOKEN"] = nil  // only the token given here counts
        environment.merge(self.environment) { _, added in added }
        let tokenArguments = token.map { ["--token", $0] } ?? []
        return try await ProcessRunner.run(
            executable, tokenArguments + arguments, environment: environment, timeout: timeout)
    }

    /// Like `run`, but throws with both outputs unless the client exits 0.
    @discardableResult
    package func check(_ arguments: [String], timeout: Duration = .seconds(300)) async throws -> ProcessResult {
        let result = try await run(arguments, timeout: timeout)
        guard result.succeeded else {
            throw TestSupportError.commandFailed(
                command: "flat-manager-client " + arguments.joined(separator: " "), status: result.status,
                stdout: result.stdout, stderr: result.stderr)
        }
        return result
    }

    /// `create BASEURL REPO`: the build URL the client prints.
    package func createBuild(managerURL: String, repo: String = "stable") async throws -> String {
        let result = try await check(["create", managerURL, repo])
        let lines = result.stdout.split(whereSeparator: \.isNewline).map(String.init)
        guard let buildURL = lines.last(where: { $0.hasPrefix("http") }) else {
            throw TestSupportError.unexpected("create printed no build URL: \(result.stdout)")
        }
        return buildURL
    }
}
