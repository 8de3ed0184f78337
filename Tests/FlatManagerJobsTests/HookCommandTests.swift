import FlatManagerCore
import OSTree
import SystemPackage
import Testing

@testable import FlatManagerJobs

/// Hooks run with the server's environment (narrowed by `hook-environment`) plus their job's variables, as an argv
/// array (server.md §1.5).
@Suite("Hook commands")
struct HookCommandTests {
    static let server = [
        "PATH": "/usr/bin:/bin", "HOME": "/srv", "GNUPGHOME": "/srv/gnupg", "HTTPS_PROXY": "http://proxy:3128",
        "FLAT_MANAGER_BUILD_ID": "stale",
    ]

    @Test("a hook gets the server's whole environment plus its own variables, which win (as upstream)")
    func environmentIsTheServers() throws {
        // Act
        let command = try Hook.command(
            argv: ["/opt/hooks/check", "--strict", "a b"], workingDirectory: "/builds/3",
            variables: ["FLAT_MANAGER_BUILD_ID": "3"], inherited: Hook.inherited(from: Self.server, allowList: nil))

        // Assert
        #expect(command.executable == "/usr/bin/env")
        #expect(
            command.arguments == [
                "-i", "FLAT_MANAGER_BUILD_ID=3", "GNUPGHOME=/srv/gnupg", "HOME=/srv", "HTTPS_PROXY=http://proxy:3128",
                "PATH=/usr/bin:/bin", "/opt/hooks/check", "--strict", "a b",
            ])
        #expect(command.workingDirectory == "/builds/3")
        #expect(command.environment.isEmpty)
    }

    @Test("hook-environment narrows what a hook inherits to the names it lists")
    func allowListNarrows() throws {
        // Act
        let command = try Hook.command(
            argv: ["/opt/hooks/check"], workingDirectory: nil, variables: ["FLAT_MANAGER_BUILD_ID": "3"],
            inherited: Hook.inherited(from: Self.server, allowList: ["PATH", "GNUPGHOME", "UNSET"]))

        // Assert
        #expect(
            command.arguments == [
                "-i", "FLAT_MANAGER_BUILD_ID=3", "GNUPGHOME=/srv/gnupg", "PATH=/usr/bin:/bin", "/opt/hooks/check",
            ])
    }

    @Test("a program name env would misread is refused", arguments: ["", "A=B", "-u"])
    func misreadNamesAreRefused(program: String) {
        // Act / Assert
        #expect(throws: JobError.self) {
            try Hook.command(argv: [program], workingDirectory: nil, variables: [:], inherited: [:])
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
