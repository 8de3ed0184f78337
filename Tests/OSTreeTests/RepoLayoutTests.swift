import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("RepoLayout and Refs")
struct RepoLayoutTests {
    @Test func createsTheDirectoriesParentLinkAndConfigOfABuildRepo() async throws {
        try await withTemporaryDirectory { directory in
            let main = directory + "/main"
            try FileManager.default.createDirectory(atPath: main, withIntermediateDirectories: true)

            try RepoLayout.createBuildRepository(
                at: FilePath(directory + "/builds/7"), parent: FilePath(main), collectionID: "org.test.Build7")

            let build = directory + "/builds/7"
            for sub in ["extensions", "objects", "refs/heads", "refs/mirrors", "refs/remotes", "state", "tmp/cache"] {
                var isDirectory: ObjCBool = false
                #expect(
                    FileManager.default.fileExists(atPath: build + "/" + sub, isDirectory: &isDirectory)
                        && isDirectory.boolValue)
            }
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: build + "/parent") == main)
            let config = try String(contentsOfFile: build + "/config", encoding: .utf8)
            #expect(
                config == "[core]\nrepo_version=1\nmode=archive-z2\nmin-free-space-size=500MB\n"
                    + "collection-id=org.test.Build7\nparent=\(main)")
        }
    }

    @Test func leavesOutTheCollectionIDWhenThereIsNone() async throws {
        try await withTemporaryDirectory { directory in
            try RepoLayout.createBuildRepository(
                at: FilePath(directory + "/upload"), parent: FilePath(directory), collectionID: nil)
            let config = try String(contentsOfFile: directory + "/upload/config", encoding: .utf8)
            #expect(!config.contains("collection-id"))
            #expect(config.hasSuffix("parent=\(directory)"))
        }
    }

    @Test func refusesToCreateARepoTwice() async throws {
        try await withTemporaryDirectory { directory in
            try RepoLayout.createBuildRepository(
                at: FilePath(directory + "/b"), parent: FilePath(directory), collectionID: nil)
            #expect(throws: RepoError.alreadyExists(path: directory + "/b")) {
                try RepoLayout.createBuildRepository(
                    at: FilePath(directory + "/b"), parent: FilePath(directory), collectionID: nil)
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.hasOSTree))
    func ostreeAcceptsTheBuildRepoFindsParentObjectsAndPullsIntoIt() async throws {
        try await withTemporaryDirectory { directory in
            let (main, mainCommit) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let other = directory + "/other"
            try await OSTreeFixtures.run("ostree", "init", "--repo=\(other)", "--mode=archive-z2")
            let otherCommit = try await OSTreeFixtures.commitAgain(
                repo: other, ref: "app/x/y/z", in: directory, content: "o")
            let build = directory + "/build"
            try RepoLayout.createBuildRepository(
                at: FilePath(build), parent: FilePath(main), collectionID: "org.test.Build1")

            let refs = try await OSTreeFixtures.run("ostree", "--repo=\(build)", "refs")
            let shown = try await OSTreeFixtures.run("ostree", "--repo=\(build)", "show", mainCommit)
            try await OSTreeFixtures.run("ostree", "--repo=\(build)", "pull-local", other, "app/x/y/z")

            #expect(refs.isEmpty)
            #expect(shown.contains("commit \(mainCommit)"))
            #expect(try Refs.read(repo: FilePath(build), ref: "app/x/y/z") == otherCommit)
            let parsed = try await OSTreeFixtures.run("ostree", "--repo=\(build)", "rev-parse", "app/x/y/z")
            #expect(parsed == otherCommit + "\n")
        }
    }

    @Test func readsAndListsRefsUnderAPrefixDirectory() async throws {
        try await withTemporaryDirectory { directory in
            let heads = directory + "/refs/heads"
            let commit = String(repeating: "a", count: 64)
            for ref in [
                "app/org.x/x86_64/stable", "app/org.x/aarch64/stable", "appstream/x86_64", "appstream2/x86_64",
                "app/org.xy/x86_64/stable",
            ] {
                try OSTreeFixtures.write(commit + "\n", to: heads + "/" + ref)
            }

            #expect(try Refs.read(repo: FilePath(directory), ref: "appstream/x86_64") == commit)
            #expect(try Refs.read(repo: FilePath(directory), ref: "appstream/arm") == nil)
            #expect(try Refs.list(repo: FilePath(directory), prefix: "appstream") == ["appstream/x86_64"])
            #expect(
                try Refs.list(repo: FilePath(directory), prefix: "app/org.x") == [
                    "app/org.x/aarch64/stable", "app/org.x/x86_64/stable",
                ])
            #expect(try Refs.list(repo: FilePath(directory), prefix: "runtime").isEmpty)
            #expect(try Refs.list(repo: FilePath(directory)).count == 5)
            #expect(try Refs.list(repo: FilePath(directory)) == Refs.list(repo: FilePath(directory)).sorted())
        }
    }

    @Test(
        "listing refs refuses a prefix that steps out of refs/heads", arguments: ["app/../..", "..", "app//x", "./app"])
    func listingRefusesATraversingPrefix(prefix: String) async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try OSTreeFixtures.write(
                String(repeating: "a", count: 64), to: directory + "/refs/heads/app/org.x/x86_64/stable")

            // Act / Assert
            #expect(throws: RepoError.self) { try Refs.list(repo: FilePath(directory), prefix: prefix) }
        }
    }

    @Test("listing refs refuses a symbolic link below refs/heads instead of following it")
    func listingRefusesASymlinkedRefDirectory() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let heads = directory + "/refs/heads"
            try OSTreeFixtures.write(String(repeating: "a", count: 64), to: heads + "/app/org.x/x86_64/stable")
            try OSTreeFixtures.write("not a ref", to: directory + "/elsewhere/etc/passwd")
            try FileManager.default.createSymbolicLink(
                atPath: heads + "/app/org.evil", withDestinationPath: directory + "/elsewhere")

            // Act / Assert
            #expect(throws: RepoError.refused(path: "refs/heads/app/org.evil", reason: "is a symbolic link")) {
                try Refs.list(repo: FilePath(directory), prefix: "app/org.evil")
            }
            #expect(throws: RepoError.refused(path: "refs/heads/app/org.evil", reason: "is a symbolic link")) {
                try Refs.list(repo: FilePath(directory), prefix: "app")
            }
            #expect(try Refs.list(repo: FilePath(directory), prefix: "app/org.x") == ["app/org.x/x86_64/stable"])
        }
    }
}
