import Foundation

/// A directory of stand-in programs put in front of the server's (or worker's) PATH.
package struct FakeTools: Sendable {
    package let directory: TempDirectory

    package init() throws {
        directory = try TempDirectory(prefix: "flat-manager-fake-bin")
    }

    package var url: URL { directory.url }

    /// A `flatpak` that runs `deltaScript` (POSIX sh) for `build-update-repo --generate-static-delta-*` and hands
    /// every other invocation to the real flatpak.
    package func flatpak(deltaScript: String) throws {
        guard let real = TestEnvironment.executable(named: "flatpak") else {
            throw TestSupportError.missingPrerequisite("flatpak")
        }
        let script = """
            #!/bin/sh
            for argument in "$@"; do
                if [ "$argument" = "--generate-static-delta-to" ]; then
                    \(deltaScript)
                fi
            done
            exec \(real.path) "$@"

            """
        let path = directory.appending("flatpak").path
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }
}

/// A directory with a `flatpak` script that, on `build-commit-from`, waits until `release` exists (so that a test
/// can look at a running job), then runs the real flatpak.
package struct GatedFlatpak {
    package let directory: TempDirectory
    package let started: URL
    package let release: URL

    package init() throws {
        guard let realFlatpak = TestEnvironment.executable(named: "flatpak") else {
            throw TestSupportError.missingPrerequisite("flatpak")
        }
        directory = try TempDirectory(prefix: "flat-manager-gated-flatpak")
        started = directory.appending("commit-started")
        release = directory.appending("release")
        let script = """
            #!/bin/sh
            # Test wrapper: hold the commit until the test releases it (at most 120 s).
            case " $* " in
                *" build-commit-from "*)
                    touch '\(started.path)'
                    n=0
                    while [ ! -e '\(release.path)' ] && [ $n -lt 1200 ]; do sleep 0.1; n=$((n+1)); done
                    ;;
            esac
            exec '\(realFlatpak.path)' "$@"

            """
        let executable = directory.appending("flatpak")
        try Data(script.utf8).write(to: executable)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable.path)
    }

    package func waitUntilStarted() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: started.path) {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.timedOut("the commit job never ran flatpak build-commit-from")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    package func releaseCommit() throws {
        try Data().write(to: release)
    }
}
