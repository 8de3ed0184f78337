import Foundation
import Testing

@testable import FlatManagerAPI

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("the served document is docs/openapi.yaml")
    func servedDocumentIsTheCheckedInOne() throws {
        // Arrange
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        // Act
        let file = try String(contentsOf: root.appending(path: "docs/openapi.yaml"), encoding: .utf8)

        // Assert
        #expect(OpenAPIDocument.yaml + "\n" == file)
    }
}
