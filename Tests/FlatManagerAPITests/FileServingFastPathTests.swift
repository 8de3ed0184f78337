import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlatManagerAPI

#if canImport(Glibc)
    import Glibc
#endif

/// The fast path of `/repo` (`RepoRoot`: one `openat2` beneath the repository's open root, no symlinks) and its
/// hand-over to the general path, through the server's router.
@Suite("Repo file serving fast path")
struct FileServingFastPathTests {
    @Test("the fast path's name characters are exactly [A-Za-z0-9._+,=@~-]")
    func plainCharacters() {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+,=@~-".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(RepoFastPath.isPlain(byte) == plain.contains(byte), "byte \(byte)")
        }
    }

    @Test("the fast path's segment check takes exactly what a per-byte reading of the rules takes")
    func plainSegmentsMatchTheRules() {
        // The rules read byte by byte: segments non-empty, plain, not starting with a dot; at least two.
        func reference(_ bytes: [UInt8]) -> (Int, Int)? {
            var segmentStart = true
            var first: Int?
            var last = -1
            for (index, byte) in bytes.enumerated() {
                if byte == UInt8(ascii: "/") {
                    if segmentStart { return nil }
                    segmentStart = true
                    if first == nil { first = index }
                    last = index
                    continue
                }
                if segmentStart, byte == UInt8(ascii: ".") { return nil }
                guard RepoFastPath.isPlain(byte) else { return nil }
                segmentStart = false
            }
            if segmentStart { return nil }
            return first.map { ($0, last) }
        }
        let alphabet = Array("ab./.%~ \u{7f}".utf8) + [0, 0x80, 0xff]
        var generator = SystemRandomNumberGenerator()
        var cases: [[UInt8]] = [
            [], Array("stable".utf8), Array("stable/".utf8), Array("stable/x".utf8), Array("stable//x".utf8),
            Array("stable/.x".utf8), Array(".stable/x".utf8), Array("/stable/x".utf8), Array("stable/x.y/z".utf8),
            Array("stable/objects/ab/cd.filez".utf8), Array("stable/x%2e".utf8),
        ]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...9, using: &generator)
            cases.append((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? 0 })
        }
        for bytes in cases {
            let found = bytes.withUnsafeBytes { RepoFastPath.plainSegments($0, from: 0) }
            let expected = reference(bytes)
            #expect(found?.first == expected?.0 && found?.last == expected?.1, "\(bytes)")
        }
    }

    @Test("RepoRoot opens plain files, reports missing ones, and leaves symlinks and escapes to the general path")
    func repoRootOutcomes() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("repo/objects/ab/cd.filez", [1, 2, 3])
        try directory.write("secret", [9])
        symlink(directory.path + "/secret", directory.path + "/repo/objects/ab/leak.filez")
        symlink("cd.filez", directory.path + "/repo/objects/ab/inside.filez")
        let root = RepoRoot(path: directory.path + "/repo")

        guard case .descriptor(let descriptor) = root.open("objects/ab/cd.filez") else {
            Issue.record("a plain file is opened")
            return
        }
        close(descriptor)
        #expect(root.open("objects/ab/none.filez") == .missing)
        #expect(root.open("objects/ab/cd.filez/x") == .missing)
        #expect(root.open("objects/ab/leak.filez") == .unsupported)
        #expect(root.open("objects/ab/inside.filez") == .unsupported)
        #expect(root.open("../secret") == .unsupported)
        #expect(root.open(directory.path + "/secret") == .unsupported)
        #expect(RepoRoot(path: directory.path + "/none").open("config") == .unsupported)
    }

    @Test("RepoRoot opens the new tree once the repository directory has been replaced, and nothing once it is gone")
    func repoRootReplaced() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("repo/config", Array("old".utf8))
        let root = RepoRoot(path: directory.path + "/repo")
        func content(_ opened: RepoRoot.Opened) -> String? {
            guard case .descriptor(let descriptor) = opened else { return nil }
            defer { close(descriptor) }
            var bytes = [UInt8](repeating: 0, count: 16)
            let count = read(descriptor, &bytes, bytes.count)
            return count >= 0 ? String(decoding: bytes.prefix(count), as: UTF8.self) : nil
        }
        #expect(content(root.open("config")) == "old")
        let held = try #require(root.currentDescriptor(now: Int(time(nil))))

        // An operator moves another tree to the configured path.
        #expect(rename(directory.path + "/repo", directory.path + "/repo.old") == 0)
        try directory.write("repo/config", Array("new".utf8))
        let later = Int(time(nil)) + 2
        let reopened = try #require(root.currentDescriptor(now: later))
        #expect(reopened != held)
        #expect(content(root.open("config")) == "new")
        // Checked again within the same second: the same descriptor, no reopening.
        #expect(root.currentDescriptor(now: later) == reopened)

        // The directory gone: nothing is opened (the general path answers).
        #expect(rename(directory.path + "/repo", directory.path + "/repo.gone") == 0)
        #expect(root.currentDescriptor(now: later + 2) == nil)
        #expect(root.open("config") == .unsupported)
    }

    @Test("a symlink planted in objects/ pointing outside the repository is refused; one inside is still served")
    func plantedSymlinks() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let repo = harness.directory + "/repo"
        try FileManager.default.createDirectory(atPath: repo + "/objects/ab", withIntermediateDirectories: true)
        try Data("outside".utf8).write(to: URL(fileURLWithPath: harness.directory + "/outside.txt"))
        try Data("object".utf8).write(to: URL(fileURLWithPath: repo + "/objects/ab/real.filez"))
        symlink(harness.directory + "/outside.txt", repo + "/objects/ab/leak.filez")
        symlink("../../objects/ab/real.filez", repo + "/objects/ab/alias.filez")
        symlink(harness.directory, repo + "/objects/cd")
        let fifo = repo + "/objects/ab/pipe.filez"
        #expect(mkfifo(fifo, 0o644) == 0)

        let answers = try await harness.test { client in
            var answers: [(Int, String)] = []
            for name in ["real", "leak", "alias", "pipe"] {
                let response = try await client.execute(uri: "/repo/stable/objects/ab/\(name).filez", method: .get)
                answers.append((Int(response.status.code), String(buffer: response.body)))
            }
            let escaped = try await client.execute(uri: "/repo/stable/objects/cd/outside.txt", method: .get)
            answers.append((Int(escaped.status.code), String(buffer: escaped.body)))
            return answers
        }

        #expect(answers.map(\.0) == [200, 404, 200, 404, 404])
        #expect(answers[0].1 == "object" && answers[2].1 == "object")
        #expect(!answers.contains { $0.1.contains("outside") })
    }

    @Test("a large file is read in pieces, whole and by ranges across pieces, with the validators of the small path")
    func largeFile() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let repo = harness.directory + "/repo"
        let length = Int(StaticFileResponder.pieceLength) * 2 + 12_345
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        try FileManager.default.createDirectory(atPath: repo + "/objects/ef", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: repo + "/objects/ef/big.filez"))
        let start = Int(StaticFileResponder.pieceLength) - 10

        let (whole, part, notModified) = try await harness.test { client in
            let whole = try await client.execute(uri: "/repo/stable/objects/ef/big.filez", method: .get)
            let part = try await client.execute(
                uri: "/repo/stable/objects/ef/big.filez", method: .get,
                headers: [.range: "bytes=\(start)-\(start + 19)"])
            let tag = whole.headers[.eTag] ?? ""
            let notModified = try await client.execute(
                uri: "/repo/stable/objects/ef/big.filez", method: .get, headers: [.ifNoneMatch: tag])
            return (whole, part, notModified)
        }

        #expect(whole.status == .ok)
        #expect(whole.body == ByteBuffer(bytes: bytes))
        #expect(whole.headers[.contentLength] == String(length))
        #expect(whole.headers[.contentEncoding] == nil)
        #expect(part.status == .partialContent)
        #expect(part.body == ByteBuffer(bytes: bytes[start..<(start + 20)]))
        #expect(part.headers[.contentRange] == "bytes \(start)-\(start + 19)/\(length)")
        #expect(notModified.status == .notModified)
        #expect(notModified.body.readableBytes == 0)
    }

    @Test("the fast and the general path give a file the same validators")
    func sameValidators() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let repo = harness.directory + "/repo"
        try FileManager.default.createDirectory(atPath: repo + "/objects/12", withIntermediateDirectories: true)
        try Data("same".utf8).write(to: URL(fileURLWithPath: repo + "/objects/12/x.filez"))
        let general = try await FileIdentity.of(path: repo + "/objects/12/x.filez")

        let headers = try await harness.test { client in
            try await client.execute(uri: "/repo/stable/objects/12/x.filez", method: .head).headers
        }

        #expect(headers[.eTag] == general.eTag)
        #expect(headers[.lastModified] == HTTPDate.format(secondsSinceEpoch: general.modifiedSeconds))
        #expect(headers[.contentLength] == "4")
    }
}
