import FlatManagerCore
import OSTree
import Testing

@testable import FlatManagerJobs

/// Hooks run with a minimal environment, as an argv array (server.md §1.5).
@Suite("Hook commands")
struct HookCommandTests {
    @Test("a hook gets PATH, HOME and LANG of the server plus its own variables, nothing else")
    func environmentIsMinimal() throws {
        // Arrange
        let server = [
            "PATH": "/usr/bin:/bin", "HOME": "/srv", "LANG": "C.UTF-8", "DATABASE_URL": "postgres://secret",
            "REPO_TOKEN": "token",
        ]

        // Act
        let command = try Hook.command(
            argv: ["/opt/hooks/check", "--strict", "a b"], workingDirectory: "/builds/3",
            variables: ["FLAT_MANAGER_BUILD_ID": "3"], serverEnvironment: server)

        // Assert
        #expect(command.executable == "/usr/bin/env")
        #expect(
            command.arguments == [
                "-i", "FLAT_MANAGER_BUILD_ID=3", "HOME=/srv", "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "/opt/hooks/check",
                "--strict", "a b",
            ])
        #expect(command.workingDirectory == "/builds/3")
        #expect(command.environment.isEmpty)
    }

    @Test("a program name env would misread is refused", arguments: ["", "A=B", "-u"])
    func misreadNamesAreRefused(program: String) {
        // Act / Assert
        #expect(throws: JobError.self) {
            try Hook.command(argv: [program], workingDirectory: nil, variables: [:], serverEnvironment: [:])
        }
    }

    @Test("a failure names the hook's own command line, its exit status and stderr")
    func failureMessageIsClear() {
        // Arrange
        let failure = HookFailure(
            label: "Publish hook", argv: ["/opt/hook", "it's"], exitCode: 3, stderr: "no appstream\n")

        // Act
        let text = failure.description

        // Assert
        #expect(text == "Publish hook /opt/hook 'it'\\''s' failed with exit status 3: no appstream")
    }
}
