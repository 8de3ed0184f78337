import Foundation

/// Local ostree repositories holding the test app `org.test.Hello` (printing "Hello <version>") and its runtime
/// `org.test.Platform`, built by scripts/make-test-app.sh. Built once per version per test run and shared.
package actor FixtureRepo {
    package static let shared = FixtureRepo()

    package static let appID = "org.test.Hello"
    package static let runtimeID = "org.test.Platform"

    /// Holds every fixture repository of this test run; removed when the test process ends.
    private var root: TempDirectory?
    private var builds: [String: Task<URL, any Error>] = [:]

    /// An archive-z2 repository with the app at `version` (and the runtime), e.g. to push with the client.
    package func repository(version: String) async throws -> URL {
        if let existing = builds[version] { return try await existing.value }
        let directory = try fixtureRoot().appending("app-\(version)")
        let task = Task { try await Self.build(into: directory, version: version) }
        builds[version] = task
        return try await task.value
    }

    private func fixtureRoot() throws -> TempDirectory {
        if let root { return root }
        let created = try TempDirectory(prefix: "flat-manager-fixtures")
        root = created
        return created
    }

    /// Runs make-test-app.sh for one version into `directory`.
    package static func build(into directory: URL, version: String) async throws -> URL {
        try TestEnvironment.requireOSTree()
        guard let bash = TestEnvironment.executable(named: "bash") else {
            throw TestSupportError.missingPrerequisite("bash")
        }
        try await ProcessRunner.check(
            bash, [TestEnvironment.script("make-test-app.sh").path, directory.path, version], timeout: .seconds(120))
        return directory
    }

    /// The full ref name of the fixture app for the machine's default architecture.
    package static func appRef(arch: String) -> String { "app/\(appID)/\(arch)/stable" }
}
