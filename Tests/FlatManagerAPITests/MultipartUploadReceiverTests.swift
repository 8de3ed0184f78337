import NIOCore
import TestSupport
import Testing

@testable import FlatManagerAPI

/// A verifier that fails at the end when the content contains a marker byte sequence.
private struct RejectingVerifier: UploadPartVerifier {
    var seen: [UInt8] = []
    let marker: [UInt8]

    mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
        seen += bytes
    }

    func finish() throws {
        let found =
            seen.count >= marker.count
            && (0...(seen.count - marker.count)).contains { Array(seen[$0..<($0 + marker.count)]) == marker }
        if found { throw HTTPTestFailure("checksum mismatch") }
    }
}

/// An async body that yields the given chunks, then optionally fails like a client hanging up.
private struct ChunkedBody: AsyncSequence {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    var failAtEnd = false

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        let failAtEnd: Bool

        mutating func next() async throws -> ByteBuffer? {
            if let chunk = remaining.popFirst() { return chunk }
            if failAtEnd { throw HTTPTestFailure("connection reset") }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: chunks[...], failAtEnd: failAtEnd) }

    /// The body cut into pieces of `size` bytes.
    static func splitting(_ body: [UInt8], size: Int, failAtEnd: Bool = false) -> ChunkedBody {
        let chunks = stride(from: 0, to: body.count, by: size).map {
            ByteBuffer(bytes: body[$0..<Swift.min($0 + size, body.count)])
        }
        return ChunkedBody(chunks: chunks, failAtEnd: failAtEnd)
    }
}

@Suite("UploadReceiver")
struct MultipartUploadReceiverTests {
    let boundary = "e3c1b2a3d4e5f601f0c9f4d2d7a4b8e9"

    @Test("good parts land at their destinations with their sizes and mode 0644", arguments: [1, 7, 4096])
    func storesParts(chunkSize: Int) async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        var random = SeededRandom(seed: 3)
        let parts = [
            MultipartFixture.Part(filename: "one.filez", content: random.bytes(chunkSize == 1 ? 3000 : 1_500_000)),
            MultipartFixture.Part(filename: "empty.dirmeta", content: []),
            MultipartFixture.Part(filename: "three.commit", content: Array("\r\n--\(boundary.prefix(9))".utf8)),
        ]
        let body = MultipartFixture.body(parts, boundary: boundary, shape: .rust)
        try directory.write("objects/ab/three.commit", Array("old".utf8))

        let sizes = try await UploadReceiver.receive(
            body: ChunkedBody.splitting(body, size: chunkSize), boundary: boundary,
            tempDirectory: directory.path + "/deltas/.tmp"
        ) { name throws(UploadError) in UploadDestination(finalPath: "\(directory.path)/objects/ab/\(name)") }

        #expect(sizes == parts.map(\.content.count))
        for part in parts {
            #expect(directory.read("objects/ab/\(part.filename)") == part.content)
            #expect(directory.mode("objects/ab/\(part.filename)") == 0o644)
        }
        #expect(directory.list("deltas/.tmp").isEmpty)
    }

    @Test("a part failing verification is an invalid object and leaves no file behind")
    func verificationFailure() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        let parts = [
            MultipartFixture.Part(filename: "good", content: Array("fine".utf8)),
            MultipartFixture.Part(filename: "bad", content: Array("contains BAD bytes".utf8)),
        ]
        let body = MultipartFixture.body(parts, boundary: boundary, shape: .python)

        let error = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(body, size: 5), boundary: boundary, tempDirectory: directory.path + "/tmp"
            ) { name throws(UploadError) in
                UploadDestination(
                    finalPath: "\(directory.path)/out/\(name)", verifier: RejectingVerifier(marker: Array("BAD".utf8)))
            }
        }

        guard case .invalidObject = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(directory.read("out/good") == Array("fine".utf8))
        #expect(directory.read("out/bad") == nil)
        #expect(directory.list("tmp").isEmpty)
    }

    @Test("an invalid filename aborts the upload and keeps the parts stored before it")
    func invalidFilename() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        let parts = [
            MultipartFixture.Part(filename: "first", content: Array("1".utf8)),
            MultipartFixture.Part(filename: "../evil", content: Array("2".utf8)),
        ]
        let body = MultipartFixture.body(parts, boundary: boundary, shape: .python)

        let error = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(body, size: 64), boundary: boundary, tempDirectory: directory.path + "/tmp"
            ) { name throws(UploadError) in
                guard !name.contains("/") else { throw .invalidFilename(name) }
                return UploadDestination(finalPath: "\(directory.path)/out/\(name)")
            }
        }

        #expect(error == .invalidFilename("../evil"))
        #expect(error?.message == "Invalid upload filename")
        #expect(directory.read("out/first") == Array("1".utf8))
        #expect(directory.list("tmp").isEmpty)
    }

    @Test("parts without a content disposition or without a filename are refused with upstream's texts")
    func missingDisposition() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        let noDisposition = Array("--\(boundary)\r\nContent-Type: x/y\r\n\r\nab\r\n--\(boundary)--\r\n".utf8)
        let noFilename = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nab\r\n--\(boundary)--".utf8)
        let destination: (String) throws(UploadError) -> UploadDestination = {
            UploadDestination(finalPath: "\(directory.path)/out/\($0)")
        }

        let first = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(noDisposition, size: 10), boundary: boundary,
                tempDirectory: directory.path + "/tmp", destination: destination)
        }
        let second = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(noFilename, size: 10), boundary: boundary,
                tempDirectory: directory.path + "/tmp", destination: destination)
        }

        #expect(first?.message == "No content disposition for multipart item")
        #expect(second?.message == "No filename for multipart item")
        #expect(directory.list("out").isEmpty)
    }

    @Test("a body cut short or a client hanging up removes the unfinished part's temp file")
    func truncatedUpload() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        let body = MultipartFixture.body(
            [MultipartFixture.Part(filename: "part", content: Array(repeating: 7, count: 100_000))],
            boundary: boundary, shape: .python)
        let cut = Array(body[0..<60_000])
        let destination: (String) throws(UploadError) -> UploadDestination = {
            UploadDestination(finalPath: "\(directory.path)/out/\($0)")
        }

        let truncated = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(cut, size: 1000), boundary: boundary,
                tempDirectory: directory.path + "/tmp", destination: destination)
        }
        let hungUp = await #expect(throws: UploadError.self) {
            try await UploadReceiver.receive(
                body: ChunkedBody.splitting(cut, size: 1000, failAtEnd: true), boundary: boundary,
                tempDirectory: directory.path + "/tmp", destination: destination)
        }

        #expect(truncated == .malformedMultipart(MultipartError.truncated.message))
        guard case .io = hungUp else {
            Issue.record("unexpected \(String(describing: hungUp))")
            return
        }
        #expect(directory.list("tmp").isEmpty)
        #expect(directory.list("out").isEmpty)
    }
}
