import Foundation
import TestSupport
import Testing

/// `flat-manager-client push` of a tiny real archive repo (made with the `ostree` tool) to the scripted server:
/// what it asks, what it uploads, what it prints when stdout is not a terminal (client.md A.7.2, A.8, B.2).
@Suite("flat-manager-client push", .enabled(if: BinarySupport.hasClient && OSTreeTool.path != nil))
struct ClientPushTests {
    static let ostree = OSTreeTool.path

    /// One object per upload request, so the request count is the object count.
    static let oneObjectPerRequest = ["FLAT_MANAGER_CLIENT_BATCH_COUNT": "1"]

    /// An archive-z2 repo with `app/org.test.Tiny/x86_64/master`: three files in two directories.
    static func makeRepo() throws -> String {
        let root = NSTemporaryDirectory() + "client-push-" + UUID().uuidString
        let tree = root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/files/bin", withIntermediateDirectories: true)
        try Data("[Application]\nname=org.test.Tiny\n".utf8).write(to: URL(fileURLWithPath: tree + "/metadata"))
        try Data("one".utf8).write(to: URL(fileURLWithPath: tree + "/files/one"))
        try Data("two".utf8).write(to: URL(fileURLWithPath: tree + "/files/bin/two"))
        try run(["init", "--mode=archive-z2", "--repo=\(root)/repo"])
        try run(["commit", "--repo=\(root)/repo", "--branch=app/org.test.Tiny/x86_64/master", "--subject=t", tree])
        return root + "/repo"
    }

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(ostree))
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
    }

    static func objectCount(_ repo: String) throws -> Int {
        let enumerator = FileManager.default.enumerator(atPath: repo + "/objects")
        return (enumerator?.allObjects as? [String] ?? []).filter { $0.contains(".") }.count
    }

    /// A server that has nothing before and everything after the upload.
    static func scriptedServer(upload: [FakeServer.Response] = [.json("[1]")]) throws -> FakeServer {
        let server = try FakeServer()
        server.on("POST", "/api/v1/build/1/upload", upload[0], upload.count > 1 ? upload[1] : upload[0])
        server.on("GET", "/api/v1/build/1/missing_objects", .json(#"{"missing":[]}"#))
        server.on("POST", "/api/v1/build/1/build_ref", .json("{}"))
        server.on("GET", "/api/v1/build/1", .json(#"{"id":1,"repo_state":0}"#))
        return server
    }

    @Test func allObjectsUploadsEverythingWithoutAskingFirst() throws {
        let repo = try Self.makeRepo()
        let server = try Self.scriptedServer()
        defer { server.stop() }

        let outcome = try ClientRun.client(
            ["--token", "t", "push", "--all-objects", server.baseURL + "/api/v1/build/1", repo],
            environment: Self.oneObjectPerRequest)

        #expect(outcome.status == 0, "\(outcome.stderr)")
        let paths = server.requests.map(\.path)
        #expect(paths.first == "/api/v1/build/1/upload")
        #expect(paths.filter { $0.hasSuffix("/upload") }.count == (try Self.objectCount(repo)))
        #expect(!outcome.stdout.contains("Remote missing"))
        #expect(outcome.stdout.contains("Uploading 1 files ("))
    }

    @Test func aPushPrintsTheReferenceClientsPlainLinesWhenNotOnATerminal() throws {
        let repo = try Self.makeRepo()
        let server = try FakeServer()
        defer { server.stop() }
        server.on("GET", "/api/v1/build/1/missing_objects", .json(#"{"missing":[]}"#))
        server.on("POST", "/api/v1/build/1/build_ref", .json("{}"))
        server.on("GET", "/api/v1/build/1", .json(#"{"id":1}"#))
        let build = server.baseURL + "/api/v1/build/1"

        let outcome = try ClientRun.client(["--token", "t", "push", build, repo])

        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Uploading refs to \(build): ['app/org.test.Tiny/x86_64/master']")
        #expect(lines.contains { $0.hasPrefix("Refs contain ") && $0.hasSuffix(" metadata objects") })
        #expect(lines.contains("Remote missing 0 of those"))
        #expect(lines.contains("Has 3 file objects for those"))
        #expect(lines.contains("Uploading file objects"))
        #expect(lines.contains("Uploading metadata objects"))
        #expect(lines.contains("Uploading deltas"))
        #expect(lines.last?.hasPrefix("Creating ref app/org.test.Tiny/x86_64/master with commit ") == true)
        #expect(!outcome.stdout.contains("\r"))
        #expect(!server.requests.contains { $0.path.hasSuffix("/upload") })
    }

    @Test func anUploadAnsweredWithTooFewSizesIsSentAgain() throws {
        let repo = try Self.makeRepo()
        let server = try Self.scriptedServer(upload: [.json("[]"), .json("[1]")])
        defer { server.stop() }

        let outcome = try ClientRun.client(
            ["--token", "t", "push", "--all-objects", "--parallel", "1", server.baseURL + "/api/v1/build/1", repo],
            environment: Self.oneObjectPerRequest)

        #expect(outcome.status == 0, "\(outcome.stderr)")
        let uploads = server.requests.filter { $0.path.hasSuffix("/upload") }.count
        #expect(uploads == (try Self.objectCount(repo)) + 1)
    }

    @Test func objectsStillMissingAfterThreeRoundsFailTheUpload() throws {
        let repo = try Self.makeRepo()
        let server = try FakeServer()
        defer { server.stop() }
        server.on("POST", "/api/v1/build/1/upload", .json("[1]"))
        let commitName = try #require(
            try FileManager.default.subpathsOfDirectory(atPath: repo + "/objects").first { $0.hasSuffix(".commit") })
        let missing = commitName.replacingOccurrences(of: "/", with: "")
        server.on("GET", "/api/v1/build/1/missing_objects", .json(#"{"missing":["\#(missing)"]}"#))
        let outputFile = ClientRun.temporaryFile()

        let outcome = try ClientRun.client(
            ["--token", "t", "--output", outputFile, "push", server.baseURL + "/api/v1/build/1", repo],
            environment: Self.oneObjectPerRequest)

        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("Upload incomplete: 1 objects still missing on the server"))
        let failure = try ClientRun.output(outputFile)["error"] as? [String: Any]
        #expect(failure?["type"] as? String == "usage")
    }
}

/// The `ostree` program the push tests make their repositories with, if installed.
enum OSTreeTool {
    static let path = ["/usr/bin/ostree", "/usr/local/bin/ostree"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}
