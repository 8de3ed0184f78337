import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

/// `RefHistory` and `Command.flatpakRollback` with the real tools (issue #15 part 2).
@Suite("Ref history and rollback", .enabled(if: TestEnvironment.hasOSTree))
struct RefHistoryTests {
    @Test("the head, a parent, a foreign commit and a missing ref are told apart; the walk stops at its bound")
    func positions() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let (repo, first) = try await OSTreeFixtures.makeContentRepo(in: directory)
            let second = try await OSTreeFixtures.commitAgain(repo: repo, ref: "test/ref", in: directory, content: "2")
            let third = try await OSTreeFixtures.commitAgain(repo: repo, ref: "test/ref", in: directory, content: "3")
            let other = try await OSTreeFixtures.commitAgain(repo: repo, ref: "other/ref", in: directory, content: "o")
            let path = FilePath(repo)

            // Act, Assert
            #expect(try RefHistory.position(of: third, in: "test/ref", repo: path) == .head)
            #expect(try RefHistory.position(of: second, in: "test/ref", repo: path) == .ancestor(depth: 1))
            #expect(try RefHistory.position(of: first, in: "test/ref", repo: path) == .ancestor(depth: 2))
            #expect(try RefHistory.position(of: first, in: "test/ref", repo: path, maximumDepth: 1) == .notInHistory)
            #expect(try RefHistory.position(of: other, in: "test/ref", repo: path) == .notInHistory)
            #expect(try RefHistory.position(of: first, in: "no/such", repo: path) == .noSuchRef)
        }
    }

    @Test("a rollback is a new commit on top with the earlier commit's tree and metadata")
    func rollbackCommit() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            let (repo, ref, first) = try await OSTreeFixtures.makeFlatpakRepo(in: directory)
            try await OSTreeFixtures.run(
                "flatpak", "build-commit-from", "--force", "--src-repo=\(repo)", "--src-ref=\(first)", repo, ref)
            let second = try #require(try Refs.read(repo: FilePath(repo), ref: ref))

            // Act
            try await CommandRunner(timeout: .seconds(120)).run(
                .flatpakRollback(repo: FilePath(repo), ref: ref, commit: first, gpg: GPGSigning()))

            // Assert
            let head = try #require(try Refs.read(repo: FilePath(repo), ref: ref))
            let local = try LocalRepo(path: FilePath(repo))
            let rolledBack = try local.loadCommit(head)
            let original = try local.loadCommit(first)
            #expect(head != first && head != second)
            #expect(rolledBack.parent == second)
            #expect(rolledBack.rootTree == original.rootTree)
            #expect(rolledBack.string("xa.metadata") == original.string("xa.metadata"))
            #expect(rolledBack.tokenType == original.tokenType)
            #expect(rolledBack.subject == "Roll back to \(first)")
            #expect(rolledBack.timestamp >= original.timestamp)
        }
    }

    @Test("a rollback carries the extra collection ids the ref is published under, so their mirror refs move too")
    func rollbackKeepsExtraCollectionIDs() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange: the ref published again with an extra collection id (as a build with extra ids is).
            let (repo, ref, first) = try await OSTreeFixtures.makeFlatpakRepo(in: directory)
            try await OSTreeFixtures.run(
                "flatpak", "build-commit-from", "--force", "--extra-collection-id=org.test.Repo.Free",
                "--src-repo=\(repo)", "--src-ref=\(first)", repo, ref)
            let second = try #require(try Refs.read(repo: FilePath(repo), ref: ref))
            // Mirror directories that must not count: another collection, a name with a character outside the rule,
            // and an extra id without this ref.
            for (name, mirrored) in [
                ("org.other.Repo.X", ref), ("org.test.Repo.Bad-Name", ref), ("org.test.Repo.Empty", "app/other"),
            ] {
                let path = URL(fileURLWithPath: repo + "/refs/mirrors/\(name)/" + mirrored)
                try FileManager.default.createDirectory(
                    at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data((second + "\n").utf8).write(to: path)
            }
            let mirror = repo + "/refs/mirrors/org.test.Repo.Free/" + ref
            #expect(try String(contentsOfFile: mirror, encoding: .utf8).hasPrefix(second))

            // Act
            let extraIDs = Refs.extraCollectionIDs(repo: FilePath(repo), collectionID: "org.test.Repo", ref: ref)
            try await CommandRunner(timeout: .seconds(120)).run(
                .flatpakRollback(
                    repo: FilePath(repo), ref: ref, commit: first, gpg: GPGSigning(), extraCollectionIDs: extraIDs))

            // Assert
            #expect(extraIDs == ["org.test.Repo.Free"])
            let head = try #require(try Refs.read(repo: FilePath(repo), ref: ref))
            #expect(head != second)
            #expect(try String(contentsOfFile: mirror, encoding: .utf8).hasPrefix(head))
            let bindings = try await OSTreeFixtures.run(
                "ostree", "show", "--repo=\(repo)", "--print-metadata-key=ostree.collection-refs-binding", head)
            #expect(bindings.contains("org.test.Repo.Free"), "\(bindings)")
        }
    }
}
