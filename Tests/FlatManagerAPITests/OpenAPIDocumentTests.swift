import Foundation
import NIOCore
import Testing

@testable import FlatManagerAPI

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("the served document is docs/openapi.yaml, found in the resource bundle next to the binary")
    func servedDocumentIsTheCheckedInOne() throws {
        // Arrange
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try Data(contentsOf: root.appending(path: "docs/openapi.yaml"))

        // Act
        let served = try #require(OpenAPIDocument.contents)

        // Assert
        #expect(Data(served.readableBytesView) == file)
        #expect(file.count > 10_000)
    }

    @Test("the resource bundle is looked for next to the executable first")
    func candidatesStartNextToTheExecutable() throws {
        // Act
        let candidates = OpenAPIDocument.candidatePaths()

        // Assert
        let executable = try #require(Bundle.main.executableURL)
        #expect(
            candidates.first
                == "\(executable.deletingLastPathComponent().path)/flat-manager_FlatManagerAPI.resources/openapi.yaml")
    }
}
