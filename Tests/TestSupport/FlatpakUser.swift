import Foundation

/// A flatpak user installation isolated in a temporary HOME, as a real user of the repository would use it.
///
/// `HOME`, the XDG directories, `XDG_RUNTIME_DIR` and `FLATPAK_USER_DIR` all point into one temporary
/// directory, so no system state is read or changed and no D-Bus is needed (environment.md).
package struct FlatpakUser: Sendable {
    package let home: TempDirectory
    package let environment: [String: String]
    package let flatpak: URL

    package init() throws {
        try TestEnvironment.requireOSTree()
        guard let flatpak = TestEnvironment.executable(named: "flatpak") else {
            throw TestSupportError.missingPrerequisite("flatpak")
        }
        self.flatpak = flatpak
        home = try TempDirectory(prefix: "flat-manager-flatpak-user")
        let paths: [String: String] = [
            "HOME": "home",
            "XDG_DATA_HOME": "home/.local/share",
            "XDG_CONFIG_HOME": "home/.config",
            "XDG_CACHE_HOME": "home/.cache",
            "XDG_RUNTIME_DIR": "runtime",
            "FLATPAK_USER_DIR": "home/.local/share/flatpak",
        ]
        var environment = TestEnvironment.environment
        for (variable, relative) in paths {
            let url = home.appending(relative)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            environment[variable] = url.path
        }
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o700], ofItemAtPath: home.appending("runtime").path)
        self.environment = environment
    }

    /// `flatpak remote-add --user --no-gpg-verify NAME URL`.
    package func remoteAdd(name: String = "test", url: String) async throws {
        try await flatpak(["remote-add", "--user", "--no-gpg-verify", name, url])
    }

    /// `flatpak install --user -y --noninteractive REMOTE REF`.
    package func install(_ ref: String, from remote: String = "test") async throws {
        try await flatpak(["install", "--user", "-y", "--noninteractive", remote, ref])
    }

    /// `flatpak update --user -y --noninteractive` (everything installed).
    package func update() async throws {
        try await flatpak(["update", "--user", "-y", "--noninteractive"])
    }

    /// `flatpak run APP` and what it printed on stdout, without the trailing newline.
    package func run(_ appID: String) async throws -> String {
        let result = try await flatpak(["run", appID])
        return result.stdout.trimmingCharacters(in: .newlines)
    }

    /// Runs any flatpak subcommand in this installation; throws with its output unless it exits 0.
    @discardableResult
    package func flatpak(_ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.check(flatpak, arguments, environment: environment, timeout: .seconds(120))
    }
}
