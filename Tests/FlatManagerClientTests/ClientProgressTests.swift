import Foundation
import TestSupport
import Testing

/// The progress bar needs a terminal, so these tests run the client under `script(1)`, which gives it one.
@Suite(
    "flat-manager-client progress on a terminal",
    .enabled(if: BinarySupport.hasClient && OSTreeTool.path != nil && TerminalTool.script != nil))
struct ClientProgressTests {
    static let script = TerminalTool.script

    @Test func aPushOnATerminalDrawsABarInsteadOfPerRequestLines() throws {
        let repo = try ClientPushTests.makeRepo()
        let server = try ClientPushTests.scriptedServer()
        defer { server.stop() }
        let client = try #require(BinarySupport.path(of: "flat-manager-client"))
        let command = [
            client, "--token", "t", "push", "--all-objects", server.baseURL + "/api/v1/build/1", repo,
        ].joined(separator: " ")

        let (status, output) = try Self.runOnTerminal(
            command, environment: ClientPushTests.oneObjectPerRequest.merging(ClientRun.fast) { $1 })

        #expect(status == 0, "\(output)")
        #expect(output.contains("] 100% "))
        #expect(output.contains(" objects  "))
        #expect(output.contains("ETA "))
        #expect(!output.contains("Uploading 1 files"))
    }

    /// Runs a shell command line under `script -qec`, so its stdout is a pseudo-terminal; returns the status and
    /// everything the terminal showed.
    static func runOnTerminal(_ command: String, environment: [String: String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(script))
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = ["PATH": "/usr/bin:/bin", "TERM": "xterm"].merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// `script(1)` from util-linux, which runs a command on a pseudo-terminal.
enum TerminalTool {
    static let script = ["/usr/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }
}
