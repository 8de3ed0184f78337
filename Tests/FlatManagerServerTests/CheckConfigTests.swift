import FlatManagerCore
import Foundation
import OSTree
import SystemPackage
import TestSupport
import Testing

@testable import FlatManagerServer

/// `flat-manager --check-config` beyond the config's own validation: the repos and keys it points at.
@Suite("flat-manager --check-config")
struct CheckConfigTests {
    /// A keyring that holds no key: `gpg --export` of any id exits 0 with nothing on stdout.
    struct EmptyKeyring: CommandRunning {
        func run(_ command: Command) async throws -> CommandOutput {
            CommandOutput(exitCode: 0, stdout: "", stderr: "")
        }
    }

    /// Makes `repo/config` (enough for `Config.parse`) and, when asked, `repo/objects` in a scratch directory.
    static func makeRepo(in directory: String, withObjects: Bool) throws {
        try FileManager.default.createDirectory(atPath: directory + "/repo", withIntermediateDirectories: true)
        try Data("[core]\nmode=archive-z2\n".utf8).write(to: URL(fileURLWithPath: directory + "/repo/config"))
        if withObjects {
            try FileManager.default.createDirectory(
                atPath: directory + "/repo/objects", withIntermediateDirectories: true)
        }
    }

    static func config(in directory: String, extraTop: String = "") throws -> Config {
        let json = """
            {"secret": "c2VjcmV0", "build-repo-base": "build-repo"\(extraTop),
             "repos": {"stable": {"path": "repo", "subsets": {}}}}
            """
        return try Config.parse(Data(json.utf8), file: "config.json", workingDirectory: FilePath(directory))
    }

    @Test func aRepoWithoutObjectsIsNamedByItsKey() async throws {
        // Arrange
        let problems = try await withTemporaryDirectory(prefix: "check-config") { directory in
            try Self.makeRepo(in: directory, withObjects: false)
            let config = try Self.config(in: directory)

            // Act
            return await CheckConfig.problems(in: config, file: "config.json", runner: EmptyKeyring())
        }

        // Assert
        #expect(problems.map(\.key) == ["repos.stable.path"])
        #expect(problems.first?.message.hasSuffix("is not an ostree repository") == true)
    }

    @Test func aBuildKeyMissingFromTheKeyringIsTheOnlyProblemOfAnOtherwiseGoodConfig() async throws {
        // Arrange
        let problems = try await withTemporaryDirectory(prefix: "check-config") { directory in
            try Self.makeRepo(in: directory, withObjects: true)
            let config = try Self.config(in: directory, extraTop: #", "build-gpg-key": "0123ABCD""#)

            // Act
            return await CheckConfig.problems(in: config, file: "config.json", runner: EmptyKeyring())
        }

        // Assert
        #expect(problems.map(\.key) == ["build-gpg-key"])
        #expect(problems.first?.message == "GPG key 0123ABCD is not in the keyring")
    }
}
