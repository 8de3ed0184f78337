import FlatManagerCore
import Foundation
import Testing

@testable import FlatManagerAPI

/// What anonymous viewers of the status pages see of job output: no absolute server paths (issue #10, step 6).
@Suite("PathRedactor")
struct PathRedactorTests {
    @Test("configured directories become named placeholders, the rest of the path stays")
    func configuredDirectoriesAreNamed() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let redactor = PathRedactor(config: harness.config)
        let base = harness.config.buildRepoBase
        let stable = try #require(harness.config.repos["stable"]?.path)
        let beta = try #require(harness.config.repos["beta"]?.path)

        // Act
        let text = redactor.redact(
            "Command `flatpak build-commit-from --src-repo=\(base)/7/upload \(base)/7 app/org.test.Hello/x86_64/stable`"
                + " failed\nerror: \(stable)/objects/ab: gone; see '\(beta)/config'")

        // Assert
        #expect(
            text
                == "Command `flatpak build-commit-from --src-repo=<build-repo-base>/7/upload <build-repo-base>/7 "
                + "app/org.test.Hello/x86_64/stable` failed\nerror: <repo:stable>/objects/ab: gone; see "
                + "'<repo:beta>/config'")
    }

    @Test(
        "any other absolute path that starts a word becomes <path>",
        arguments: [
            ("/etc/passwd", "<path>"), ("open /home/user/.gnupg/x: denied", "open <path>: denied"),
            ("HOME=/var/lib/fm ok", "HOME=<path> ok"), ("(\"/tmp/a b\")", "(\"<path> b\")"),
            ("[/srv/x, /srv/y]", "[<path>, <path>]"), ("line\n/abs/path\nnext", "line\n<path>\nnext"),
        ])
    func otherAbsolutePathsAreHidden(text: String, expected: String) {
        #expect(PathRedactor.redactAbsolutePaths(text) == expected)
    }

    @Test(
        "refs, relative paths, URLs and prose keep their slashes",
        arguments: [
            "Committing ref app/org.test.Hello/x86_64/stable (abc)", "deltas/.tmp/ab/cd",
            "http://127.0.0.1:8080/repo/stable",
            "and/or", "10 / 2", "/", "ok /",
        ])
    func honestTextIsKept(text: String) {
        #expect(PathRedactor.redactAbsolutePaths(text) == text)
    }
}
