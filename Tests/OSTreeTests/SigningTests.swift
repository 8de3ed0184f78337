import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

/// gpg export and signed flatpak commands with a throwaway key.
@Suite(
    "Signing with a real gpg key",
    .enabled(if: TestEnvironment.hasOSTree && TestEnvironment.executable(named: "gpg") != nil))
struct SigningTests {
    /// Runs `body` with a new homedir holding one ed25519 signing key (homedir, fingerprint), then stops the
    /// gpg-agent that gpg started for it, whatever `body` did.
    static func withKey(in directory: String, _ body: (String, String) async throws -> Void) async throws {
        let homedir = directory + "/gnupg"
        try FileManager.default.createDirectory(
            atPath: homedir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let result: Result<Void, any Error>
        do {
            try await OSTreeFixtures.run(
                "gpg", "--homedir=\(homedir)", "--batch", "--passphrase", "", "--quick-gen-key",
                "Test <test@example.com>", "ed25519", "sign", "never")
            let listing = try await OSTreeFixtures.run("gpg", "--homedir=\(homedir)", "--list-keys", "--with-colons")
            let fingerprint = listing.split(separator: "\n").first { $0.hasPrefix("fpr:") }?
                .split(separator: ":", omittingEmptySubsequences: false).dropFirst(9).first
            try await body(homedir, String(try #require(fingerprint)))
            result = .success(())
        } catch {
            result = .failure(error)
        }
        _ = try? await OSTreeFixtures.run("gpgconf", "--homedir=\(homedir)", "--kill", "gpg-agent")
        try result.get()
    }

    @Test func exportGivesTheBinaryKeyGpgWritesToAFile() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.withKey(in: directory) { homedir, key in
                let output = try await CommandRunner().run(
                    .gpgExport(binary: "gpg", homedir: FilePath(homedir), keys: [key]))
                try await OSTreeFixtures.run(
                    "gpg", "--homedir=\(homedir)", "--output=\(directory)/key.gpg", "--export", key)

                #expect(!output.stdoutBytes.isEmpty)
                #expect(output.stdoutBytes == (try OSTreeFixtures.readBytes(directory + "/key.gpg")))
            }
        }
    }

    @Test func signedCommitAndUpdateRepoWriteSignatures() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.withKey(in: directory) { homedir, key in
                let (src, ref, uploaded) = try await OSTreeFixtures.makeFlatpakSource(in: directory)
                let main = directory + "/main"
                try await OSTreeFixtures.run("ostree", "init", "--repo=\(main)", "--mode=archive-z2")
                let build = directory + "/build"
                try RepoLayout.createBuildRepository(at: FilePath(build), parent: FilePath(main), collectionID: nil)
                try RepoLayout.createBuildRepository(
                    at: FilePath(build + "/upload"), parent: FilePath(main), collectionID: nil)
                try await OSTreeFixtures.run("ostree", "--repo=\(build)/upload", "pull-local", src, ref)
                let gpg = GPGSigning(homedir: FilePath(homedir), keys: [key])

                try await CommandRunner().run(
                    .flatpakCommitToBuild(
                        upload: FilePath(build + "/upload"), build: FilePath(build), ref: ref, commit: uploaded,
                        gpg: gpg, endOfLife: nil,
                        endOfLifeRebase: nil, tokenType: nil))
                try await CommandRunner().run(.flatpakUpdateBuildRepo(build: FilePath(build), gpg: gpg))

                let commit = try #require(try Refs.read(repo: FilePath(build), ref: ref))
                let commitmeta = build + "/objects/\(commit.prefix(2))/\(commit.dropFirst(2)).commitmeta"
                #expect(FileManager.default.fileExists(atPath: commitmeta))
                #expect(FileManager.default.fileExists(atPath: build + "/summary.sig"))
            }
        }
    }
}
