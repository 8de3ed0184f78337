import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("LocalRepo", .enabled(if: TestEnvironment.hasOSTree))
struct LocalRepoTests {
    /// Distinct dirtrees, dirmetas and files that `ostree ls -R -C` lists for a commit.
    static func ostreeCounts(repo: String, commit: String) async throws -> (trees: Int, metas: Int, files: Int) {
        let listing = try await OSTreeFixtures.run("ostree", "--repo=\(repo)", "ls", "-R", "-C", commit)
        var trees: Set<String> = []
        var metas: Set<String> = []
        var files: Set<String> = []
        for line in listing.split(separator: "\n") {
            let checksums = line.split(separator: " ").map(String.init).filter { $0.count == 64 }
            if line.hasPrefix("d"), checksums.count == 2 {
                trees.insert(checksums[0])
                metas.insert(checksums[1])
            } else if let checksum = checksums.first {
                files.insert(checksum)
            }
        }
        return (trees.count, metas.count, files.count)
    }

    @Test func closureHasWhatOstreeListsForTheCommit() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commit) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let local = try LocalRepo(path: FilePath(repo))

            let closure = try local.closure(ofCommits: [commit, commit])

            let expected = try await Self.ostreeCounts(repo: repo, commit: commit)
            #expect(closure.metadata.first == ObjectName(checksum: commit, type: .commit))
            #expect(closure.metadata.filter { $0.type == .commit }.count == 1)
            #expect(closure.metadata.filter { $0.type == .dirtree }.count == expected.trees)
            #expect(closure.metadata.filter { $0.type == .dirmeta }.count == expected.metas)
            #expect(closure.files.count == expected.files)
            #expect(Set(closure.files).count == closure.files.count)
            #expect(closure.filesByTree.count == expected.trees)
            #expect(Set(closure.filesByTree.values.joined()) == Set(closure.files))
            for name in closure.metadata + closure.files {
                #expect(FileManager.default.fileExists(atPath: local.objectPath(name).string), "\(name)")
            }
        }
    }

    @Test func closureOfTwoCommitsSharesObjects() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, first) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let second = try await OSTreeFixtures.commitAgain(
                repo: repo, ref: "other", in: directory, content: "new content\n")
            let local = try LocalRepo(path: FilePath(repo))

            let both = try local.closure(ofCommits: [first, second])
            let one = try local.closure(ofCommits: [first])

            #expect(both.metadata.filter { $0.type == .commit }.count == 2)
            // The second tree holds one new file; its directory metadata equals the first tree's.
            #expect(both.files.count == one.files.count + 1)
        }
    }

    @Test func refsAndResolveFollowRefsHeads() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commit) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let local = try LocalRepo(path: FilePath(repo))

            #expect(try local.refs() == ["test/ref": commit])
            #expect(try local.resolve("test/ref") == commit)
            #expect(try local.resolve(commit) == commit)
            #expect(throws: RepoError.self) { try local.resolve("missing/ref") }
            #expect(throws: RepoError.self) { try local.resolve(String(repeating: "0", count: 64)) }
        }
    }

    @Test func refusesARepoThatIsNotInArchiveMode() async throws {
        try await withTemporaryDirectory { directory in
            try await OSTreeFixtures.run("ostree", "init", "--repo=\(directory)/bare", "--mode=bare-user")
            #expect(throws: RepoError.notArchiveRepo(path: directory + "/bare")) {
                try LocalRepo(path: FilePath(directory + "/bare"))
            }
            #expect(throws: RepoError.self) { try LocalRepo(path: FilePath(directory + "/nothing")) }
        }
    }

    @Test func listsThePartsOfAFromScratchDelta() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _, commit) = try await OSTreeFixtures.makeFlatpakRepo(in: directory)
            let local = try LocalRepo(path: FilePath(repo))
            #expect(try local.staticDeltaParts(forCommit: commit).isEmpty)
            try await OSTreeFixtures.run("flatpak", "build-update-repo", "--generate-static-delta-to", commit, repo)

            let parts = try local.staticDeltaParts(forCommit: commit)

            let name = Delta(from: nil, to: commit).name
            #expect(parts.first?.fileName == "\(name).superblock.delta")
            #expect(parts.count >= 2)
            for part in parts {
                let parsed = try #require(DeltaPartName(part.fileName))
                #expect(repo + "/" + parsed.relativePath.string == part.path.string)
                #expect(FileManager.default.fileExists(atPath: part.path.string))
            }
        }
    }
}
