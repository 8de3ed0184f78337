import FlatManagerCore
import Foundation
import SystemPackage
import TestSupport
import Testing

@Suite("DotEnv")
struct DotEnvTests {
    @Test func keysAndValuesAreReadInFileOrder() {
        let text = """
            # a comment
            DATABASE_URL=postgres://localhost/repo

            export RUST_LOG = info
            QUOTED="two words"
            SINGLE='x=y'
            EMPTY=
            not a variable
            """

        let variables = DotEnv.parse(text)

        #expect(variables.map(\.key) == ["DATABASE_URL", "RUST_LOG", "QUOTED", "SINGLE", "EMPTY"])
        #expect(variables.map(\.value) == ["postgres://localhost/repo", "info", "two words", "x=y", ""])
    }

    @Test func windowsLineEndingsAreAccepted() {
        let variables = DotEnv.parse("A=1\r\nB=2\r\n")

        #expect(variables.map(\.key) == ["A", "B"])
        #expect(variables.map(\.value) == ["1", "2"])
    }

    @Test func theNearestEnvFileUpwardsIsFound() async throws {
        try await withTemporaryDirectory(prefix: "dotenv") { root in
            try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
            try Data("A=1\n".utf8).write(to: URL(fileURLWithPath: root + "/.env"))

            let found = DotEnv.find(from: FilePath(root + "/a/b"))

            #expect(
                found.map { URL(fileURLWithPath: $0.string).resolvingSymlinksInPath().path }
                    == URL(fileURLWithPath: root + "/.env").resolvingSymlinksInPath().path)
        }
    }
}
