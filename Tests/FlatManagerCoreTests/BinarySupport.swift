import Foundation

/// Finds and runs the package's executables (`gentoken`, `flat-manager-client`) from tests. Executable targets
/// cannot be imported by this test target, so their behaviour is tested through their command line.
enum BinarySupport {
    /// The build products directory: next to the test bundle, else `.build/debug` of this package.
    static let productsDirectory: String? = {
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

    static func path(of name: String) -> String? {
        guard let productsDirectory else { return nil }
        let path = productsDirectory + "/" + name
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static var hasGenToken: Bool { path(of: "gentoken") != nil }
    static var hasClient: Bool { path(of: "flat-manager-client") != nil }

    /// What a finished process left behind.
    struct Outcome: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `name` with `arguments`, feeding `stdin`, with `environment` added to a clean one; waits for the end.
    static func run(
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
