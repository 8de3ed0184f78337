import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("NoFollowTree")
struct NoFollowTreeTests {
    @Test("an honest tree is listed with directories before their files and copied into the destination")
    func honestTreeIsCopied() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("png", to: staging + "/org.test.App/1/shot.png")
            try OSTreeFixtures.write("other", to: staging + "/top.png")
            let media = directory + "/media"
            try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)

            // Act
            let entries = try NoFollowTree.inspect(FilePath(staging))
            try NoFollowTree.copy(entries, from: FilePath(staging), into: FilePath(media))

            // Assert
            #expect(entries.map(\.path) == ["org.test.App", "org.test.App/1", "org.test.App/1/shot.png", "top.png"])
            #expect(try String(contentsOfFile: media + "/org.test.App/1/shot.png", encoding: .utf8) == "png")
            #expect(try String(contentsOfFile: media + "/top.png", encoding: .utf8) == "other")
        }
    }

    @Test("an existing file of the same name is replaced and other files are kept")
    func existingFileIsReplaced() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("new", to: staging + "/app/shot.png")
            let media = directory + "/media"
            try OSTreeFixtures.write("old", to: media + "/app/shot.png")
            try OSTreeFixtures.write("keep", to: media + "/app/older.png")

            // Act
            try NoFollowTree.copy(
                try NoFollowTree.inspect(FilePath(staging)), from: FilePath(staging), into: FilePath(media))

            // Assert
            #expect(try String(contentsOfFile: media + "/app/shot.png", encoding: .utf8) == "new")
            #expect(try String(contentsOfFile: media + "/app/older.png", encoding: .utf8) == "keep")
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: media + "/app").sorted() == [
                    "older.png", "shot.png",
                ])
        }
    }

    @Test(
        "a symbolic link in the staged tree is refused, naming the entry",
        arguments: [("up", ".."), ("abs", "/tmp"), ("dir/inner", "../..")])
    func symlinkInStagingIsRefused(name: String, target: String) async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try FileManager.default.createDirectory(atPath: staging + "/dir", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: staging + "/" + name, withDestinationPath: target)

            // Act / Assert
            #expect(throws: UnsafeTreeError.symlink(name)) { try NoFollowTree.inspect(FilePath(staging)) }
        }
    }

    @Test("a fifo in the staged tree is refused")
    func fifoInStagingIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try FileManager.default.createDirectory(atPath: staging + "/sub", withIntermediateDirectories: true)
            #expect(mkfifo(staging + "/sub/pipe", 0o644) == 0)

            // Act / Assert
            #expect(throws: UnsafeTreeError.specialFile("sub/pipe", kind: "fifo")) {
                try NoFollowTree.inspect(FilePath(staging))
            }
        }
    }

    @Test("a regular file with a second hard link is refused")
    func hardLinkedFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("secret", to: directory + "/outside")
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            #expect(link(directory + "/outside", staging + "/linked") == 0)

            // Act / Assert
            #expect(throws: UnsafeTreeError.hardLink("linked", linkCount: 2)) {
                try NoFollowTree.inspect(FilePath(staging))
            }
        }
    }

    @Test(
        "a symbolic link already inside the destination is refused and nothing is written through it",
        arguments: ["up/PWNED", "up"])
    func symlinkInDestinationIsRefused(stagedFile: String) async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("pwned", to: staging + "/" + stagedFile)
            let media = directory + "/media"
            let outside = directory + "/outside"
            try FileManager.default.createDirectory(atPath: media, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: media + "/up", withDestinationPath: outside)
            let entries = try NoFollowTree.inspect(FilePath(staging))

            // Act / Assert
            #expect(throws: UnsafeTreeError.destinationConflict("up", reason: "is a symbolic link")) {
                try NoFollowTree.copy(entries, from: FilePath(staging), into: FilePath(media))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: media + "/up") == outside)
        }
    }

    @Test("a destination that is itself a symbolic link to another directory is written into")
    func destinationSymlinkItselfIsFollowedOnce() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("png", to: staging + "/app/shot.png")
            let disk = directory + "/other-disk/media"
            try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: directory + "/media", withDestinationPath: disk)

            // Act
            try NoFollowTree.copy(
                try NoFollowTree.inspect(FilePath(staging)), from: FilePath(staging),
                into: FilePath(directory + "/media"))

            // Assert
            #expect(try String(contentsOfFile: disk + "/app/shot.png", encoding: .utf8) == "png")
        }
    }

    @Test("a directory in the tree where the destination holds a file is refused")
    func fileInTheWayOfADirectoryIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let staging = directory + "/staging"
            try OSTreeFixtures.write("png", to: staging + "/app/shot.png")
            let media = directory + "/media"
            try OSTreeFixtures.write("file", to: media + "/app")

            // Act / Assert
            #expect(throws: UnsafeTreeError.destinationConflict("app", reason: "exists and is not a directory")) {
                try NoFollowTree.copy(
                    try NoFollowTree.inspect(FilePath(staging)), from: FilePath(staging), into: FilePath(media))
            }
        }
    }

    @Test("a tree nested deeper than the bound is refused")
    func deepTreeIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let components = Array(repeating: "d", count: NoFollowTree.maximumDepth + 1)
            try FileManager.default.createDirectory(
                atPath: directory + "/staging/" + components.joined(separator: "/"), withIntermediateDirectories: true)

            // Act / Assert
            let deepest = components.prefix(NoFollowTree.maximumDepth).joined(separator: "/")
            #expect(throws: UnsafeTreeError.tooDeep(deepest)) {
                try NoFollowTree.inspect(FilePath(directory + "/staging"))
            }
        }
    }
}

@Suite("DirectoryWalk")
struct DirectoryWalkTests {
    @Test("symbolic links are reported as links and never entered")
    func symlinksAreNotFollowed() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let root = directory + "/root"
            try OSTreeFixtures.write("1234", to: root + "/a/file")
            try OSTreeFixtures.write("outside!", to: directory + "/outside/big")
            try FileManager.default.createSymbolicLink(
                atPath: root + "/link", withDestinationPath: directory + "/outside")
            try FileManager.default.createSymbolicLink(atPath: root + "/a/up", withDestinationPath: "..")

            // Act
            let files = DirectoryWalk.regularFiles(below: FilePath(root))
            let subdirectories = DirectoryWalk.subdirectories(of: FilePath(root))

            // Assert
            #expect(files.map(\.path.string) == [root + "/a/file"])
            #expect(files.map(\.size) == [4])
            #expect(subdirectories == ["a"])
            #expect(FileKind.at(FilePath(root + "/link")) == .symlink)
        }
    }
}
