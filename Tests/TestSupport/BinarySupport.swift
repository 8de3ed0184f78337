import Foundation

/// Finds and runs the package's executables (`gentoken`, `flat-manager-client`, `delta-generator-client`) from
/// tests: their command line (arguments, exit status, stdout, stderr) is what users and scripts see, so the binary
/// tests run the built executables rather than call into them.
public enum BinarySupport {
    /// The build products directory: next to the test bundle, else `.build/debug` of this package.
    public static let productsDirectory: String? = {
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory)
            directory = directory.deletingLastPathComponent()
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug"))
        return candidates.first {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("gentoken").path)
        }?
        .path
    }()

    /// The executable `name` in the products directory; nil when it was not built.
    public static func path(of name: String) -> String? {
        guard let productsDirectory else { return nil }
        let path = productsDirectory + "/" + name
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Whether `gentoken` was built (suites that run it are enabled by this).
    public static var hasGenToken: Bool { path(of: "gentoken") != nil }
    /// Whether `flat-manager-client` was built.
    public static var hasClient: Bool { path(of: "flat-manager-client") != nil }

    /// What a finished process left behind.
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `name` with `arguments`, feeding `stdin`, with `environment` added to a clean one; waits for the end.
    public static func run(
        _ name: String, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]
    ) throws -> Outcome {
        guard let path = path(of: name) else { throw CocoaError(.fileNoSuchFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        let stderrData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
