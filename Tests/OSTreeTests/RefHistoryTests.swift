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
}
