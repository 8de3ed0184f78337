import Dispatch
import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("TreeRemoval")
struct TreeRemovalTests {
    @Test("removes a directory tree and answers false for one that is not there")
    func removesATree() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try OSTreeFixtures.write("1", to: directory + "/tree/objects/ab/cd.filez")
            try OSTreeFixtures.write("2", to: directory + "/tree/config")
            try FileManager.default.createDirectory(
                atPath: directory + "/tree/empty", withIntermediateDirectories: true)

            // Act
            let first = try TreeRemoval.remove(FilePath(directory + "/tree"))
            let second = try TreeRemoval.remove(FilePath(directory + "/tree"))

            // Assert
            #expect(first)
            #expect(!second)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test("removes symbolic links inside the tree and in its place without following them")
    func neverFollowsLinks() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try OSTreeFixtures.write("keep", to: directory + "/outside/file")
            try OSTreeFixtures.write("x", to: directory + "/tree/file")
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/tree/linked-dir", withDestinationPath: directory + "/outside")
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/link", withDestinationPath: directory + "/outside")

            // Act
            try TreeRemoval.remove(FilePath(directory + "/tree"))
            try TreeRemoval.remove(FilePath(directory + "/link"))

            // Assert
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["outside"])
            #expect(try String(contentsOfFile: directory + "/outside/file", encoding: .utf8) == "keep")
        }
    }

    @Test("two removers of one tree at the same time both succeed and leave nothing (the CI failure of stop 20)")
    func concurrentRemoversBothSucceed() async throws {
        try await withTemporaryDirectory { directory in
            for round in 0..<5 {
                // Arrange: enough entries that the two removals overlap.
                let tree = directory + "/tree-\(round)"
                for prefix in 0..<16 {
                    let sub = tree + "/objects/" + String(format: "%02x", prefix)
                    try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
                    for file in 0..<64 {
                        let made = FileManager.default.createFile(
                            atPath: sub + "/\(file).filez", contents: Data("x".utf8))
                        #expect(made)
                    }
                }

                // Act
                let failures = Failures()
                DispatchQueue.concurrentPerform(iterations: 2) { _ in
                    do { try TreeRemoval.remove(FilePath(tree)) } catch { failures.add("\(error)") }
                }

                // Assert
                #expect(failures.all.isEmpty, "\(failures.all)")
                #expect(!FileManager.default.fileExists(atPath: tree))
            }
        }
    }
}

/// Errors collected from concurrent removers.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
