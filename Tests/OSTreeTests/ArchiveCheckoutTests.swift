import Foundation
import SystemPackage
import TestSupport
import Testing

@testable import OSTree

#if canImport(Glibc)
    import Glibc
#endif

/// The in-process checkout against the real `ostree checkout --user-mode --union --bareuseronly-dirs`, on the same
/// commits: what both write must be the same tree (names, kinds, permission bits, contents, link targets, the
/// times of created directories).
@Suite("ArchiveCheckout", .enabled(if: TestEnvironment.hasOSTree))
struct ArchiveCheckoutTests {
    /// One entry of a checked-out tree, as compared.
    struct Entry: Equatable, CustomStringConvertible {
        var kind: String
        var mode: mode_t
        var content: [UInt8]
        /// Directories only: their modification time (files get the time they were written).
        var seconds: Int

        var description: String {
            "\(kind) \(String(mode, radix: 8)) \(seconds) \(String(decoding: content, as: UTF8.self).debugDescription)"
        }
    }

    /// Every entry below `root` by its relative path, never following a link.
    func tree(_ root: String) throws -> [String: Entry] {
        var result: [String: Entry] = [:]
        func visit(_ relative: String) throws {
            let path = relative.isEmpty ? root : root + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
            let mode = info.st_mode & 0o7777
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                result[relative] = Entry(kind: "dir", mode: mode, content: [], seconds: Int(info.st_mtim.tv_sec))
                for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                    try visit(relative.isEmpty ? name : relative + "/" + name)
                }
            case S_IFLNK:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
                result[relative] = Entry(kind: "link", mode: 0, content: Array(target.utf8), seconds: 0)
            default:
                result[relative] = Entry(
                    kind: "file", mode: mode, content: try OSTreeFixtures.readBytes(path), seconds: 0)
            }
        }
        try visit("")
        return result
    }

    /// An archive-z2 repo with one commit (branch `test`) of a tree with every kind of entry and mode the appstream
    /// checkout meets or must strip: plain, executable, setuid, setgid, world-writable and empty files, a link, a
    /// sticky world-writable directory, a private one and nested ones. Returns the repository's path.
    func makeRepo(in directory: String) async throws -> String {
        let tree = directory + "/tree"
        let files: [(String, String, mode_t)] = [
            ("f644", "hi\n", 0o644), ("x755", "x\n", 0o755), ("s4755", "s\n", 0o4755), ("g2755", "g\n", 0o2755),
            ("w666", "w\n", 0o666), ("empty", "", 0o644), ("a/b/deep", String(repeating: "deep ", count: 5000), 0o640),
            ("icons/64x64/org.test.App.png", "png", 0o644),
        ]
        for (name, text, mode) in files {
            try OSTreeFixtures.write(text, to: tree + "/" + name)
            #expect(chmod(tree + "/" + name, mode) == 0)
        }
        try FileManager.default.createSymbolicLink(atPath: tree + "/a/link", withDestinationPath: "../f644")
        for (name, mode) in [("ww", 0o777), ("priv", 0o700), ("a", 0o1777)] as [(String, mode_t)] {
            try FileManager.default.createDirectory(atPath: tree + "/" + name, withIntermediateDirectories: true)
            #expect(chmod(tree + "/" + name, mode) == 0)
        }
        let repo = directory + "/repo"
        try await OSTreeFixtures.run("ostree", "init", "--repo=\(repo)", "--mode=archive-z2")
        try await OSTreeFixtures.run("ostree", "commit", "--repo=\(repo)", "--branch=test", "--tree=dir=\(tree)")
        return repo
    }

    func toolCheckout(_ repo: String, into destination: String) async throws {
        try await CommandRunner().run(
            .ostreeCheckoutAppstream(repo: FilePath(repo), ref: "test", destination: FilePath(destination)))
    }

    @Test("a fresh checkout is the tree ostree writes: modes (setuid and setgid stripped), contents, links, times")
    func freshCheckout() async throws {
        try await withTemporaryDirectory { directory in
            let repo = try await makeRepo(in: directory)
            try await toolCheckout(repo, into: directory + "/tool")
            try await ArchiveCheckout.checkout(repo: FilePath(repo), ref: "test", into: FilePath(directory + "/ours"))
            let theirs = try tree(directory + "/tool")
            let ours = try tree(directory + "/ours")
            #expect(ours.count == 16)
            #expect(ours == theirs)
            #expect(ours["s4755"]?.mode == 0o755)
            #expect(ours["a"]?.mode == 0o775)
            #expect(ours["a"]?.seconds == 0)
            #expect(ours["a/link"]?.content == Array("../f644".utf8))
        }
    }

    @Test("a checkout over an earlier one replaces files, keeps other files, and leaves existing directories alone")
    func unionCheckout() async throws {
        try await withTemporaryDirectory { directory in
            let repo = try await makeRepo(in: directory)
            for side in ["tool", "ours"] {
                let root = directory + "/" + side
                try OSTreeFixtures.write("old content\n", to: root + "/f644")
                #expect(chmod(root + "/f644", 0o600) == 0)
                try OSTreeFixtures.write("kept\n", to: root + "/extra")
                try OSTreeFixtures.write("kept too\n", to: root + "/a/b/other")
                #expect(chmod(root, 0o700) == 0)
                try FileManager.default.createSymbolicLink(atPath: root + "/a/link", withDestinationPath: "/elsewhere")
            }
            try await toolCheckout(repo, into: directory + "/tool")
            try await ArchiveCheckout.checkout(repo: FilePath(repo), ref: "test", into: FilePath(directory + "/ours"))
            var theirs = try tree(directory + "/tool")
            var ours = try tree(directory + "/ours")
            // Directories that existed keep their times, which differ between the two sides: compare the rest.
            for key in ["", "a", "a/b"] {
                #expect(ours[key]?.seconds != 0)
                theirs[key]?.seconds = 0
                ours[key]?.seconds = 0
            }
            #expect(ours == theirs)
            #expect(ours["f644"]?.content == Array("hi\n".utf8))
            #expect(ours["f644"]?.mode == 0o644)
            #expect(ours["extra"]?.content == Array("kept\n".utf8))
            #expect(ours["a/b/other"] != nil)
            #expect(ours[""]?.mode == 0o700)
            #expect(ours["a/link"]?.content == Array("../f644".utf8))
            // No temporary file is left behind.
            #expect(!ours.keys.contains { $0.contains(".checkout-") })
        }
    }

    @Test("a symbolic link where the tree has a directory is refused, and nothing is written where it points")
    func linkInTheWay() async throws {
        try await withTemporaryDirectory { directory in
            let repo = try await makeRepo(in: directory)
            let outside = directory + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: directory + "/ours", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: directory + "/ours/a", withDestinationPath: outside)
            await #expect(throws: ArchiveCheckoutError.inTheWay(directory + "/ours/a")) {
                try await ArchiveCheckout.checkout(
                    repo: FilePath(repo), ref: "test", into: FilePath(directory + "/ours"))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
            // The destination itself is not followed either.
            try FileManager.default.createSymbolicLink(atPath: directory + "/linked", withDestinationPath: outside)
            await #expect(throws: ArchiveCheckoutError.inTheWay(directory + "/linked")) {
                try await ArchiveCheckout.checkout(
                    repo: FilePath(repo), ref: "test", into: FilePath(directory + "/linked"))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        }
    }

    @Test("a file object whose content is cut short or runs long is refused, and no part of it is left behind")
    func badContent() async throws {
        for change in ["truncate", "extend"] {
            try await withTemporaryDirectory { directory in
                let tree = directory + "/tree"
                try OSTreeFixtures.write(String(repeating: "content ", count: 20_000), to: tree + "/big")
                let repo = directory + "/repo"
                try await OSTreeFixtures.run("ostree", "init", "--repo=\(repo)", "--mode=archive-z2")
                try await OSTreeFixtures.run(
                    "ostree", "commit", "--repo=\(repo)", "--branch=test", "--tree=dir=\(tree)")
                let enumerator = FileManager.default.enumerator(atPath: repo + "/objects")
                let relative = try #require(
                    (enumerator?.allObjects as? [String])?.first { $0.hasSuffix(".filez") })
                let path = repo + "/objects/" + relative
                var bytes = try OSTreeFixtures.readBytes(path)
                if change == "truncate" { bytes.removeLast(20) } else { bytes += Array(repeating: 7, count: 20) }
                #expect(chmod(path, 0o644) == 0)
                try Data(bytes).write(to: URL(fileURLWithPath: path))

                var refused = false
                do {
                    try await ArchiveCheckout.checkout(
                        repo: FilePath(repo), ref: "test", into: FilePath(directory + "/out"))
                } catch let error as ArchiveCheckoutError {
                    if case .badObject = error { refused = true }
                }
                #expect(refused, "\(change)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/out").isEmpty)
            }
        }
    }

    @Test("a tree naming a file `..` or with a slash is refused before anything is written under that name")
    func forgedNames() async throws {
        for forged in ["..", "x/"] {
            try await withTemporaryDirectory { directory in
                let tree = directory + "/tree"
                try OSTreeFixtures.write("payload\n", to: tree + "/xy")
                let repo = directory + "/repo"
                try await OSTreeFixtures.run("ostree", "init", "--repo=\(repo)", "--mode=archive-z2")
                let commit = try await OSTreeFixtures.run(
                    "ostree", "commit", "--repo=\(repo)", "--branch=test", "--tree=dir=\(tree)"
                ).trimmingCharacters(in: .whitespacesAndNewlines)
                // Rename the entry in the root dirtree in place (same length: the framing stays valid).
                let root = try LocalRepo(path: FilePath(repo)).loadCommit(commit).rootTree
                let path = repo + "/objects/" + root.prefix(2) + "/" + root.dropFirst(2) + ".dirtree"
                var bytes = try OSTreeFixtures.readBytes(path)
                let name = Array("xy\0".utf8)
                let at = try #require(
                    (0...(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
                bytes.replaceSubrange(at..<(at + 2), with: Array(forged.utf8))
                #expect(chmod(path, 0o644) == 0)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                await #expect(throws: ArchiveCheckoutError.badName(forged)) {
                    try await ArchiveCheckout.checkout(
                        repo: FilePath(repo), ref: "test", into: FilePath(directory + "/out"))
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/out").isEmpty)
            }
        }
        for good in ["a", ".hidden", "..."] { #expect(throws: Never.self) { try ArchiveCheckout.check(good) } }
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            #expect(throws: ArchiveCheckoutError.badName(bad)) { try ArchiveCheckout.check(bad) }
        }
    }
}
