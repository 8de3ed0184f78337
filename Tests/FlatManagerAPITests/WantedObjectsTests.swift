import CompressNIO
import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import OSTree
import SystemPackage
import Testing

@testable import FlatManagerAPI

/// The fast reading of `missing_objects` bodies gives the answers of the full JSON decoder (issue #13).
@Suite("missing_objects body and answer")
struct WantedObjectsTests {
    static let a = String(repeating: "a", count: 64) + ".filez"
    static let b = String(repeating: "0", count: 63) + "f.dirtree"

    static func names(_ text: String) -> [String]? {
        guard case .names(let names) = WantedObjects.parse(ByteBuffer(string: text)) else { return nil }
        return names.map(\.fileName)
    }

    @Test("reads the plain shape both clients send, with or without whitespace")
    func readsThePlainShape() {
        // A short string before a name: the name is not read across the strings.
        #expect(Self.names(#"{"wanted":["x","\#(Self.a)"]}"#) == nil)
        if case .invalid(let string) = WantedObjects.parse(ByteBuffer(string: #"{"wanted":["x","\#(Self.a)"]}"#)) {
            #expect(string == "x")
        } else {
            Issue.record("the short string is not named")
        }
        #expect(Self.names(#"{"wanted":["\#(Self.a)","\#(Self.b)"]}"#) == [Self.a, Self.b])
        #expect(Self.names(" {\n \"wanted\" : [ \"\(Self.a)\" ,\t\"\(Self.b)\" ] }\n") == [Self.a, Self.b])
        #expect(Self.names(#"{"wanted":[]}"#) == [])
    }

    @Test(
        "leaves every other shape to the full decoder",
        arguments: [
            #"{"wanted":["\u0061"]}"#, #"{"other":1,"wanted":[]}"#, #"{"wanted":[],"wanted":[]}"#,
            #"{"wanted":["a",]}"#, #"{"wanted":[1]}"#, #"{"wanted":["a"]"#, #"{"wanted":["a"]} x"#,
            #"{"wanted":["é"]}"#, "[]", "", #"{"Wanted":[]}"#,
            #"{"wanted":["\#(String(repeating: "a", count: 64)).filez]}"#,
            // A name's worth of characters before an escaped quote, and an escape inside a name.
            #"{"wanted":["\#(String(repeating: "a", count: 64)).filez\"x"]}"#,
            #"{"wanted":["\u0031\#(String(repeating: "a", count: 63)).filez"]}"#,
        ])
    func leavesOtherShapesToTheDecoder(body: String) {
        guard case .notPlain = WantedObjects.parse(ByteBuffer(string: body)) else {
            Issue.record("read as plain: \(body)")
            return
        }
    }

    @Test(
        "names a string that is not an object name",
        arguments: [
            "x", String(repeating: "A", count: 64) + ".filez", String(repeating: "a", count: 64) + ".file",
            String(repeating: "a", count: 63) + ".filez", String(repeating: "a", count: 64) + "..filez",
            String(repeating: "a", count: 64) + ".filez.x", "../" + String(repeating: "a", count: 61) + ".filez",
        ])
    func namesAnInvalidString(string: String) {
        guard case .invalid(let invalid) = WantedObjects.parse(ByteBuffer(string: #"{"wanted":["\#(string)"]}"#)) else {
            Issue.record("not refused: \(string)")
            return
        }
        #expect(invalid == string)
        #expect(ObjectName(string) == nil, "the slow path refuses it too")
    }

    @Test("writes the answer byte for byte as JSONEncoder does")
    func writesTheAnswerAsJSONEncoder() throws {
        let names = try [Self.a, Self.b].map { try #require(ObjectName($0)) }
        for list in [names, [], [names[0]]] {
            let expected = try JSONEncoder().encode(MissingObjectsResponse(missing: list.map(\.fileName)))
            #expect(Data(buffer: WantedObjects.missingResponse(list)) == expected)
        }
    }

    @Test("answers a large request split over threads in the order asked, recording what the main repo has")
    func answersALargeRequestInOrder() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let storage = BuildStorage(base: harness.config.buildRepoBase)
        let mainRepo = harness.config.repos["stable"]?.path.string ?? ""
        try storage.create(build.id, parent: FilePath(mainRepo), collectionID: nil)
        var wanted: [String] = []
        for index in 0..<10_000 {
            let checksum = String(format: "%064lx", index &* 2_654_435_761 &+ 1)
            wanted.append(checksum + ".filez")
            guard index % 3 == 0 else { continue }
            let directory = mainRepo + "/objects/" + checksum.prefix(2)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: directory + "/" + checksum.dropFirst(2) + ".filez", contents: nil)
        }
        let body = try JSONEncoder().encode(MissingObjectsRequest(wanted: wanted))
        var plainBody = ByteBuffer(data: body)
        let compressed = try plainBody.compress(with: .gzip())
        var headers = HTTPFields.bearer(harness.token())
        headers[.contentEncoding] = "gzip"
        headers[.acceptEncoding] = "gzip"
        let requestHeaders = headers

        // Act
        let (encoding, missing) = try await harness.test { client in
            let response = try await client.execute(
                uri: "/api/v1/build/\(build.id)/missing_objects", method: .get, headers: requestHeaders,
                body: compressed)
            var answer = response.body
            let plain = try answer.decompress(with: .gzip())
            return (
                response.headers[.contentEncoding],
                try JSONDecoder().decode(MissingObjectsResponse.self, from: Data(buffer: plain)).missing
            )
        }

        // Assert
        #expect(encoding == "gzip")
        #expect(missing == wanted.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))
        let recorded = try BorrowedObjects.recorded(storage: storage, buildID: build.id)
        #expect(recorded.map(\.fileName) == wanted.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
    }

    @Test("a gzip body is inflated in one go when its trailer's size is true, and left to the general path otherwise")
    func gunzipWhole() throws {
        // Arrange
        // Text that compresses as object names do (about twice), not a thousandfold.
        var state: UInt64 = 12345
        let text = (0..<2000).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return String(state, radix: 16)
        }.joined(separator: ",")
        var plain = ByteBuffer(string: text)
        let compressed = try plain.compress(with: .gzip())
        var lying = compressed
        lying.setInteger(UInt32(10), at: lying.writerIndex - 4, endianness: .little)
        var twice = compressed
        var second = compressed
        twice.writeBuffer(&second)
        var broken = compressed
        broken.setInteger(UInt8(0xFF), at: broken.readerIndex + 20)

        // Act
        let whole = Request.gunzipWhole(compressed, limit: 1 << 20)
        let overLimit = Request.gunzipWhole(compressed, limit: text.utf8.count)

        // Assert
        #expect(whole.map { String(buffer: $0) == text } == true)
        #expect(overLimit == nil, "the announced size is not under the limit")
        #expect(Request.gunzipWhole(lying, limit: 1 << 20) == nil)
        #expect(Request.gunzipWhole(twice, limit: 1 << 20) == nil)
        #expect(Request.gunzipWhole(broken, limit: 1 << 20) == nil)
        #expect(Request.gunzipWhole(ByteBuffer(string: "short"), limit: 1 << 20) == nil)
        #expect(Request.gunzipWhole(compressed, limit: 1 << 20, maxRatio: 1) == nil, "more than the body itself")
        var inflated = compressed
        inflated.setInteger(UInt32(1 << 19), at: inflated.writerIndex - 4, endianness: .little)
        #expect(Request.gunzipWhole(inflated, limit: 1 << 20) == nil, "a size the body cannot have is not believed")
    }
}
