import FlatManagerCore
import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@Suite("Glob matching")
struct GlobTests {
    @Test(arguments: [
        ("*", "a", true), ("*", "", false), ("org.gnome.*", "org.gnome.Maps", true),
        ("org.gnome.*", "org.gnome.", false),
        ("foo*", "foo", false), ("*foo", "foo", false), ("a*b", "ab", false), ("a*b", "axb", true),
        ("a*b*c", "aXbYc", true), ("a*b*c", "abc", false), ("*.*", "x.y.z", true), ("abc", "abc", true),
        ("abc", "abcd", false), ("x86_64", "aarch64", false), ("*64", "x86_64", true), ("**", "a", false),
        ("**", "ab", true), ("a?c", "abc", false), ("a?c", "a?c", true),
    ])
    func matchesLikeTheSpec(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(DeltaPlanning.globMatches(pattern, text) == expected)
    }
}

@Suite("Delta planning", .enabled(if: TestEnvironment.hasOSTree))
struct DeltaPlanningTests {
    /// A repo whose `app/org.test.App/x86_64/stable` has three commits; returns them oldest first.
    static func history(in directory: String) async throws -> (repo: String, commits: [String]) {
        let repo = directory + "/repo"
        try await OSTreeFixtures.run("ostree", "init", "--repo=\(repo)", "--mode=archive-z2")
        var commits: [String] = []
        for content in ["one", "two", "three"] {
            commits.append(
                try await OSTreeFixtures.commitAgain(
                    repo: repo, ref: "app/org.test.App/x86_64/stable", in: directory, content: content))
        }
        return (repo, commits)
    }

    static func config(_ repo: String, depth: Int) throws -> RepoConfig {
        try OSTreeFixtures.repoConfig(
            path: repo,
            extra:
                "\"deltas\": [{\"id\": [\"org.other.*\"], \"depth\": 9}, {\"id\": [\"org.test.*\"], \"arch\": [\"x86*\"], \"depth\": \(depth)}]"
        )
    }

    @Test func depthOneWantsOnlyTheFromScratchDelta() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commits) = try await Self.history(in: directory)

            let wanted = try DeltaPlanning.wantedDeltas(repo: FilePath(repo), config: try Self.config(repo, depth: 1))

            #expect(wanted == [Delta(from: nil, to: commits[2])])
        }
    }

    @Test func depthThreeWantsDeltasFromParentAndGrandparent() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commits) = try await Self.history(in: directory)

            let wanted = try DeltaPlanning.wantedDeltas(repo: FilePath(repo), config: try Self.config(repo, depth: 3))

            #expect(
                wanted == [
                    Delta(from: nil, to: commits[2]), Delta(from: commits[1], to: commits[2]),
                    Delta(from: commits[0], to: commits[2]),
                ])
        }
    }

    @Test func aMissingAncestorStopsTheWalk() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, commits) = try await Self.history(in: directory)
            try FileManager.default.removeItem(
                atPath: repo + "/" + ObjectName(checksum: commits[1], type: .commit).relativePath.string)

            let wanted = try DeltaPlanning.wantedDeltas(repo: FilePath(repo), config: try Self.config(repo, depth: 3))

            #expect(wanted == [Delta(from: nil, to: commits[2])])
        }
    }

    @Test func depthsFollowTheRefKind() async throws {
        try await withTemporaryDirectory { directory in
            try await OSTreeFixtures.run("ostree", "init", "--repo=\(directory)", "--mode=archive-z2")
            let config = try OSTreeFixtures.repoConfig(
                path: directory,
                extra:
                    "\"appstream-delta-depth\": 4, \"deltas\": [{\"id\": [\"org.test.*\"], \"arch\": [\"x86*\"], \"depth\": 2}]"
            )

            #expect(DeltaPlanning.depth(ofRef: "ostree-metadata", config: config) == 0)
            #expect(DeltaPlanning.depth(ofRef: "appstream/x86_64", config: config) == 1)
            #expect(DeltaPlanning.depth(ofRef: "appstream2/x86_64", config: config) == 4)
            #expect(DeltaPlanning.depth(ofRef: "app/org.test.App/x86_64/stable", config: config) == 2)
            #expect(DeltaPlanning.depth(ofRef: "runtime/org.test.App/aarch64/stable", config: config) == 0)
            #expect(DeltaPlanning.depth(ofRef: "app/org.test.App/x86_64", config: config) == 0)
            #expect(DeltaPlanning.depth(ofRef: "screenshots/x86_64", config: config) == 0)
        }
    }

    @Test func aDeltaDirectoryWithoutSuperblockIsIncompleteNotExisting() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _, commit) = try await OSTreeFixtures.makeFlatpakRepo(in: directory)
            let incomplete = Delta(from: nil, to: commit)
            // What a killed `flatpak build-update-repo --generate-static-delta-to` leaves: the directory, one part.
            try FileManager.default.createDirectory(
                atPath: "\(repo)/\(incomplete.directory)", withIntermediateDirectories: true)
            try Data("part".utf8).write(to: URL(fileURLWithPath: "\(repo)/\(incomplete.directory)/0"))

            let existing = try DeltaPlanning.existingDeltas(repo: FilePath(repo))
            let scan = DeltaPlanning.scanDeltas(repo: FilePath(repo))

            #expect(existing.isEmpty)
            #expect(scan.complete.isEmpty)
            #expect(scan.incomplete == [incomplete])
        }
    }

    @Test func existingDeltasAreTheDecodableDirectoriesTwoLevelsDown() async throws {
        try await withTemporaryDirectory { directory in
            let (repo, _, commit) = try await OSTreeFixtures.makeFlatpakRepo(in: directory)
            try await OSTreeFixtures.run("flatpak", "build-update-repo", "--generate-static-delta-to", commit, repo)
            try FileManager.default.createDirectory(
                atPath: repo + "/deltas/.tmp/ab/cdef", withIntermediateDirectories: true)

            let existing = try DeltaPlanning.existingDeltas(repo: FilePath(repo))

            #expect(existing == [Delta(from: nil, to: commit)])
        }
    }

    @Test("a symlinked delta directory is neither complete nor incomplete: the scan does not follow it")
    func symlinkedDeltaDirectoriesAreNotFollowed() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let repo = directory + "/repo"
            let linked = try #require(Delta(name: String(repeating: "A", count: 43)))
            let linkedFirstLevel = try #require(Delta(name: String(repeating: "Q", count: 43)))
            try OSTreeFixtures.write("superblock", to: directory + "/elsewhere/delta/superblock")
            try OSTreeFixtures.write(
                "superblock", to: directory + "/elsewhere/level/" + String(repeating: "Q", count: 41) + "/superblock")
            let linkedPath = "\(repo)/\(linked.directory)"
            try FileManager.default.createDirectory(
                atPath: (linkedPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: linkedPath, withDestinationPath: directory + "/elsewhere/delta")
            try FileManager.default.createSymbolicLink(
                atPath: repo + "/deltas/QQ", withDestinationPath: directory + "/elsewhere/level")

            // Act
            let scan = DeltaPlanning.scanDeltas(repo: FilePath(repo))

            // Assert
            #expect(linkedFirstLevel.directory.string == "deltas/QQ/" + String(repeating: "Q", count: 41))
            #expect(scan.complete.isEmpty)
            #expect(scan.incomplete.isEmpty)
        }
    }
}
