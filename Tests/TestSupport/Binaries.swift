import Foundation

/// Finds the executables this package builds (`flat-manager`, `flat-manager-client`, `gentoken`).
///
/// The integration test target depends on the three executable targets, so SwiftPM builds them into the same
/// directory as the test bundle (`.build/<triple>/debug/`). The test process is started from there, but how
/// (the bundle itself, an `.xctest` directory on macOS, a helper) differs between platforms, so several
/// starting points are tried and each is walked up to the first directory that holds the executable.
/// `FLAT_MANAGER_BIN_DIR` overrides the search.
package enum Binaries {
    package static let server = "flat-manager"
    package static let client = "flat-manager-client"
    package static let gentoken = "gentoken"

    /// The directory holding the built executables; found once per test run.
    package static func directory() throws -> URL {
        try cachedDirectory.get()
    }

    /// The URL of one built executable (in `directory`, by default the build directory).
    package static func url(of name: String, in directory: URL? = nil) throws -> URL {
        let url = try (directory ?? self.directory()).appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestSupportError.binaryNotFound(name: name, searched: [url.deletingLastPathComponent().path])
        }
        return url
    }

    private static let cachedDirectory: Result<URL, TestSupportError> = {
        if let override = TestEnvironment.environment["FLAT_MANAGER_BIN_DIR"], !override.isEmpty {
            return .success(URL(fileURLWithPath: override, isDirectory: true))
        }
        let starts = startingPoints()
        if let found = findDirectory(containing: server, startingAt: starts) { return .success(found) }
        return .failure(.binaryNotFound(name: server, searched: starts.map(\.path)))
    }()

    /// Where the search starts: the running executable, argv[0], the main bundle.
    package static func startingPoints() -> [URL] {
        var points: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            points.append(URL(fileURLWithPath: executable))
        }
        if let first = CommandLine.arguments.first, !first.isEmpty {
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            points.append(URL(fileURLWithPath: first, relativeTo: cwd).standardizedFileURL)
        }
        points.append(Bundle.main.bundleURL)
        if let executable = Bundle.main.executableURL { points.append(executable) }
        return points
    }

    /// The nearest directory at or above each starting point (in order) that contains an executable regular
    /// file called `name`.
    package static func findDirectory(containing name: String, startingAt starts: [URL]) -> URL? {
        for start in starts {
            var directory = start.standardizedFileURL.resolvingSymlinksInPath()
            while true {
                if isExecutableFile(directory.appendingPathComponent(name)) { return directory }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return nil
    }

    /// True for an executable regular file (not the `flat-manager.build`-style directories SwiftPM also makes).
    private static func isExecutableFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return false }
        return !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: url.path)
    }
}
