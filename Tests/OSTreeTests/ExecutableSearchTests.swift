import Foundation
import OSTree
import TestSupport
import Testing

@Suite("ExecutableSearch")
struct ExecutableSearchTests {
    static func makeProgram(_ path: String, executable: Bool = true) throws {
        try OSTreeFixtures.write("#!/bin/sh\nexit 0\n", to: path)
        try FileManager.default.setAttributes(
            [.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: path)
    }

    @Test("takes the first executable regular file in PATH order, skipping directories and plain files")
    func pathOrder() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try FileManager.default.createDirectory(
                atPath: directory + "/a/tool", withIntermediateDirectories: true)  // A directory of that name.
            try Self.makeProgram(directory + "/b/tool", executable: false)
            try Self.makeProgram(directory + "/c/tool")
            try Self.makeProgram(directory + "/d/tool")
            let path = ["/nonexistent", "a", "b", "c", "d"].map { $0.hasPrefix("/") ? $0 : directory + "/" + $0 }
                .joined(separator: ":")

            // Act
            let found = ExecutableSearch.locate("tool", path: path)
            let missing = ExecutableSearch.locate("no-such-tool", path: path)

            // Assert
            #expect(found == directory + "/c/tool")
            #expect(missing == nil)
            #expect(ExecutableSearch.locate("c/tool", path: directory) == nil, "a name with a slash is not searched")
        }
    }

    @Test("a remembered program that went away is looked up again; relative PATH entries are not searched")
    func forgetsRemovedPrograms() async throws {
        try await withTemporaryDirectory { directory in
            // Arrange
            try Self.makeProgram(directory + "/first/tool")
            try Self.makeProgram(directory + "/second/tool")
            let path = directory + "/first:" + directory + "/second"
            let before = ExecutableSearch.locate("tool", path: path)

            // Act
            try FileManager.default.removeItem(atPath: directory + "/first/tool")
            let after = ExecutableSearch.locate("tool", path: path)
            let relative = ExecutableSearch.locate("tool", path: ".:first")

            // Assert
            #expect(before == directory + "/first/tool")
            #expect(after == directory + "/second/tool")
            #expect(relative == nil)
        }
    }

    @Test("the runner starts a program named without a slash through the search (a real run)")
    func runnerRunsFoundProgram() async throws {
        let output = try await CommandRunner().run(Command(executable: "sh", arguments: ["-c", "echo found"]))
        #expect(output.stdout == "found\n")
    }
}
