import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing

@testable import FlatManagerAPI

/// A router serving files of `directory` at `/files/{name}` the way the repo routes will.
private func makeApplication(serving directory: HTTPTestDirectory) -> some ApplicationProtocol {
    let responder = StaticFileResponder(logger: Logger(label: "test"))
    let router = Router()
    let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
        let name = context.parameters.get("name") ?? ""
        do {
            return try await responder.respond(
                to: request, path: "\(directory.path)/\(name)", extraHeaders: [.cacheControl: "no-store"])
        } catch let error as FileServingError {
            return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: error.message)))
        }
    }
    router.get("/files/{name}", use: handler)
    router.head("/files/{name}", use: handler)
    return Application(router: router)
}

@Suite("StaticFileResponder")
struct FileServingResponderTests {
    let content = Array("The quick brown fox jumps over the lazy dog\n".utf8)

    @Test("GET serves the file with length, type, validators and disposition")
    func get() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("notes.txt", content)
        let expected = ByteBuffer(bytes: content)

        try await makeApplication(serving: directory).test(.router) { client in
            try await client.execute(uri: "/files/notes.txt", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.body == expected)
                #expect(response.headers[.contentLength] == String(expected.readableBytes))
                #expect(response.headers[.acceptRanges] == "bytes")
                #expect(response.headers[.contentType] == "text/plain")
                #expect(response.headers[.contentDisposition] == "inline; filename=\"notes.txt\"")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.eTag]?.hasPrefix("\"") == true)
                #expect(response.headers[.lastModified]?.hasSuffix(" GMT") == true)
            }
        }
    }

    @Test("HEAD sends the same headers and no body")
    func head() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("summary", content)
        let length = String(content.count)

        try await makeApplication(serving: directory).test(.router) { client in
            try await client.execute(uri: "/files/summary", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.contentLength] == length)
                #expect(response.headers[.contentType] == "application/octet-stream")
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"summary\"")
            }
        }
    }

    @Test("a satisfiable range gets 206 and exactly those bytes; an unsatisfiable one 416")
    func ranges() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("data", content)
        let middle = ByteBuffer(bytes: content[4..<9])
        let suffix = ByteBuffer(bytes: content[(content.count - 4)...])
        let total = content.count

        try await makeApplication(serving: directory).test(.router) { client in
            try await client.execute(uri: "/files/data", method: .get, headers: [.range: "bytes=4-8"]) { response in
                #expect(response.status == .partialContent)
                #expect(response.body == middle)
                #expect(response.headers[.contentRange] == "bytes 4-8/\(total)")
                #expect(response.headers[.contentLength] == "5")
            }
            try await client.execute(uri: "/files/data", method: .get, headers: [.range: "bytes=-4"]) { response in
                #expect(response.status == .partialContent)
                #expect(response.body == suffix)
            }
            try await client.execute(uri: "/files/data", method: .get, headers: [.range: "bytes=\(total)-"]) {
                response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */\(total)")
            }
        }
    }

    @Test("matching validators give 304, failing preconditions 412, stale ones the file")
    func conditionals() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("summary.sig", content)
        let expected = ByteBuffer(bytes: content)

        try await makeApplication(serving: directory).test(.router) { client in
            let first = try await client.execute(uri: "/files/summary.sig", method: .get)
            let eTag = first.headers[.eTag] ?? ""
            let lastModified = first.headers[.lastModified] ?? ""

            let byTag = try await client.execute(uri: "/files/summary.sig", method: .get, headers: [.ifNoneMatch: eTag])
            let byDate = try await client.execute(
                uri: "/files/summary.sig", method: .get, headers: [.ifModifiedSince: lastModified])
            let stale = try await client.execute(
                uri: "/files/summary.sig", method: .get,
                headers: [.ifNoneMatch: "\"other\"", .ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"])
            let oldDate = try await client.execute(
                uri: "/files/summary.sig", method: .get, headers: [.ifModifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"])
            let mismatch = try await client.execute(
                uri: "/files/summary.sig", method: .get, headers: [.ifMatch: "\"other\""])
            let unmodified = try await client.execute(
                uri: "/files/summary.sig", method: .get, headers: [.ifUnmodifiedSince: "Sun, 06 Nov 1994 08:49:37 GMT"])

            #expect(byTag.status == .notModified)
            #expect(byTag.body.readableBytes == 0)
            #expect(byDate.status == .notModified)
            #expect(stale.status == .ok)
            #expect(stale.body == expected)
            #expect(oldDate.status == .ok)
            #expect(mismatch.status == .preconditionFailed)
            #expect(unmodified.status == .preconditionFailed)
        }
    }

    @Test("a .gz file is plain bytes without Content-Encoding")
    func gzipUntouched() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        let gzipBytes: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        try directory.write("appstream.xml.gz", gzipBytes)
        let expected = ByteBuffer(bytes: gzipBytes)

        try await makeApplication(serving: directory).test(.router) { client in
            try await client.execute(
                uri: "/files/appstream.xml.gz", method: .get, headers: [.acceptEncoding: "gzip"]
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.headers[.contentType] == "application/octet-stream")
                #expect(response.body == expected)
            }
        }
    }

    @Test("a large file is streamed whole and intact")
    func largeFile() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        var random = SeededRandom(seed: 11)
        let big = random.bytes(6 * 1024 * 1024 + 123)
        try directory.write("big.filez", big)
        let expected = ByteBuffer(bytes: big)

        try await makeApplication(serving: directory).test(.router) { client in
            try await client.execute(uri: "/files/big.filez", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.body == expected)
            }
        }
    }

    @Test("missing files and directories are not found")
    func notFound() async throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("sub/file", content)

        try await makeApplication(serving: directory).test(.router) { client in
            let missing = try await client.execute(uri: "/files/nothing", method: .get)
            let folder = try await client.execute(uri: "/files/sub", method: .get)

            #expect(missing.status == .notFound)
            #expect(folder.status == .notFound)
            #expect(String(buffer: folder.body) == "Ignoring directory")
        }
    }
}
