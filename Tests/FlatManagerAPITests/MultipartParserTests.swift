import NIOCore
import TestSupport
import Testing

@testable import FlatManagerAPI

/// Feeds `body` to a parser in the given chunk sizes and reassembles the parts it reports.
private func parse(
    _ body: [UInt8],
    boundary: String,
    chunkSizes: some Sequence<Int>
) throws -> [(headers: PartHeaders, content: [UInt8])] {
    try parseCountingFeeds(body, boundary: boundary, chunkSizes: chunkSizes).parts
}

/// `parse`, also reporting how many chunks the body was fed in.
private func parseCountingFeeds(
    _ body: [UInt8],
    boundary: String,
    chunkSizes: some Sequence<Int>
) throws -> (parts: [(headers: PartHeaders, content: [UInt8])], feeds: Int) {
    var feeds = 0
    var parser = MultipartParser(boundary: boundary)
    var parts: [(headers: PartHeaders, content: [UInt8])] = []
    var offset = 0
    var sizes = chunkSizes.makeIterator()
    while offset < body.count {
        let size = min(max(1, sizes.next() ?? body.count), body.count - offset)
        for event in try parser.feed(ByteBuffer(bytes: body[offset..<(offset + size)])) {
            switch event {
            case .headers(let headers): parts.append((headers, []))
            case .body(let piece):
                #expect(piece.readableBytes > 0)
                parts[parts.count - 1].content += Array(piece.readableBytesView)
            case .end: break
            }
        }
        offset += size
        feeds += 1
    }
    try parser.finish()
    return (parts, feeds)
}

/// Chunk sizes that mix single bytes, small pieces and large ones.
private func randomChunkSizes(count: Int, largest: Int, random: inout SeededRandom) -> [Int] {
    (0..<count).map { _ in
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<3: 1
        case 3..<9: Int.random(in: 2...64, using: &random)
        default: Int.random(in: 65...largest, using: &random)
        }
    }
}

/// Positions right after each `\r\n--` in the body, and the bytes around them.
private func splitPointsNearDelimiters(_ body: [UInt8]) -> [Int] {
    let marker = Array("\r\n--".utf8)
    var points: [Int] = []
    for index in 0..<(body.count - marker.count) where Array(body[index..<(index + marker.count)]) == marker {
        points += [index, index + 1, index + 2, index + 3, index + 4, index + 5]
    }
    return points
}

/// Chunk sizes that cut the body exactly at the given (sorted) positions.
private func chunkSizes(cuttingAt points: [Int], length: Int) -> [Int] {
    var sizes: [Int] = []
    var previous = 0
    for point in Set(points).sorted() where point > previous && point < length {
        sizes.append(point - previous)
        previous = point
    }
    sizes.append(length - previous)
    return sizes
}

@Suite("MultipartParser")
struct MultipartParserTests {
    let boundary = "1f0c9f4d2d7a4b8e9e3c1b2a3d4e5f60"

    @Test(
        "every part survives every single split position of a tricky body",
        arguments: [MultipartFixture.Shape.python, .rust])
    func everySingleSplit(shape: MultipartFixture.Shape) throws {
        var random = SeededRandom(seed: 1)
        let parts = MultipartFixture.trickyParts(boundary: boundary, random: &random)
        let body = MultipartFixture.body(
            parts, boundary: boundary, shape: shape, preamble: "preamble\r\n", epilogue: "bye")

        for split in 1..<body.count {
            let parsed = try parse(body, boundary: boundary, chunkSizes: [split, body.count])

            #expect(parsed.map(\.content) == parts.map(\.content), "split at \(split)")
            #expect(parsed.map { $0.headers.contentDisposition?.filename } == parts.map(\.filename))
        }
    }

    @Test(
        "every part survives thousands of random chunkings, including one-byte chunks",
        arguments: [MultipartFixture.Shape.python, .rust])
    func randomChunkings(shape: MultipartFixture.Shape) throws {
        var random = SeededRandom(seed: shape == .python ? 42 : 43)
        let parts = MultipartFixture.trickyParts(boundary: boundary, random: &random)
        let body = MultipartFixture.body(parts, boundary: boundary, shape: shape)
        var cuts = 0

        for iteration in 0..<500 {
            let sizes =
                iteration == 0
                ? Array(repeating: 1, count: body.count)
                : randomChunkSizes(count: body.count, largest: 2000, random: &random)
            let (parsed, feeds) = try parseCountingFeeds(body, boundary: boundary, chunkSizes: sizes)
            cuts += feeds - 1

            #expect(parsed.map(\.content) == parts.map(\.content), "iteration \(iteration)")
        }
        #expect(cuts >= 10_000)
    }

    @Test(
        "a body with a 2 MB part survives random chunkings and cuts right after every CRLF--",
        arguments: [MultipartFixture.Shape.python, .rust])
    func largePart(shape: MultipartFixture.Shape) throws {
        var random = SeededRandom(seed: 7)
        var big = random.bytes(2 * 1024 * 1024)
        big.replaceSubrange(1000..<1004, with: Array("\r\n--".utf8))
        let parts =
            [MultipartFixture.Part(filename: "big.filez", content: big)]
            + MultipartFixture.trickyParts(boundary: boundary, random: &random)
        let body = MultipartFixture.body(parts, boundary: boundary, shape: shape)
        let nearDelimiters = splitPointsNearDelimiters(body)

        for iteration in 0..<6 {
            let sizes =
                iteration == 0
                ? chunkSizes(cuttingAt: nearDelimiters, length: body.count)
                : randomChunkSizes(count: 20_000, largest: 70_000, random: &random)
            let parsed = try parse(body, boundary: boundary, chunkSizes: sizes)

            #expect(parsed.map(\.content) == parts.map(\.content), "iteration \(iteration)")
        }
    }

    @Test("body bytes are released as soon as they cannot start a delimiter")
    func holdsBackAtMostOneDelimiter() throws {
        var parser = MultipartParser(boundary: boundary)
        let head = ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: attachment; filename=\"x\"\r\n\r\n")
        let content = ByteBuffer(repeating: UInt8(ascii: "a"), count: 100_000)
        let tail = ByteBuffer(string: "\r\n--\(boundary.prefix(5))")

        _ = try parser.feed(head)
        let first = try parser.feed(content)
        let second = try parser.feed(tail)

        #expect(first == [.body(content)])
        #expect(second.isEmpty)
    }

    @Test("a body that ends before the closing delimiter is truncated")
    func truncatedBody() throws {
        let body = MultipartFixture.body(
            [.init(filename: "x", content: Array("hello".utf8))], boundary: boundary, shape: .python)
        let closing = body.count - "--\r\n".count

        for cut in [10, 60, body.count / 2, closing - 1] {
            var parser = MultipartParser(boundary: boundary)
            _ = try parser.feed(ByteBuffer(bytes: body[0..<cut]))

            #expect(throws: MultipartError.truncated) { try parser.finish() }
        }
    }

    @Test("a body without any delimiter is malformed")
    func garbage() throws {
        var parser = MultipartParser(boundary: boundary)

        let events = try parser.feed(ByteBuffer(string: "this is not a multipart body at all"))

        #expect(events.isEmpty)
        #expect(throws: MultipartError.malformed("no multipart boundary found")) { try parser.finish() }
    }

    @Test("a header block beyond the limit is refused")
    func headersTooLarge() throws {
        var parser = MultipartParser(boundary: boundary, maxHeaderBytes: 1024)
        let body = "--\(boundary)\r\nX-Filler: \(String(repeating: "y", count: 2000))\r\n\r\ncontent"

        #expect(throws: MultipartError.headersTooLarge) { try parser.feed(ByteBuffer(string: body)) }
    }

    @Test("a header block fed byte by byte beyond the limit is refused")
    func headersTooLargeInSmallChunks() throws {
        var parser = MultipartParser(boundary: boundary, maxHeaderBytes: 256)
        let body = Array("--\(boundary)\r\nX-Filler: \(String(repeating: "y", count: 400))".utf8)

        #expect(throws: MultipartError.headersTooLarge) {
            for byte in body { _ = try parser.feed(ByteBuffer(bytes: [byte])) }
        }
    }

    @Test("a header line without a colon and junk after a boundary are malformed")
    func malformedLines() throws {
        var noColon = MultipartParser(boundary: boundary)
        var junk = MultipartParser(boundary: boundary)

        #expect(throws: MultipartError.self) {
            try noColon.feed(ByteBuffer(string: "--\(boundary)\r\nnocolon\r\n\r\n"))
        }
        #expect(throws: MultipartError.self) { try junk.feed(ByteBuffer(string: "--\(boundary)junk\r\n\r\n")) }
    }

    @Test("transport padding after a boundary and folded headers are accepted")
    func paddingAndFolding() throws {
        let body = Array(
            "--\(boundary) \t\r\nContent-Disposition: attachment;\r\n filename=\"f\"\r\n\r\nxy\r\n--\(boundary)--".utf8)

        let parsed = try parse(body, boundary: boundary, chunkSizes: [body.count])

        #expect(parsed.count == 1)
        #expect(parsed.first?.headers.contentDisposition?.filename == "f")
        #expect(parsed.first?.content == Array("xy".utf8))
    }

    @Test("a part without headers has empty headers")
    func partWithoutHeaders() throws {
        let body = Array("--\(boundary)\r\n\r\nxy\r\n--\(boundary)--".utf8)

        let parsed = try parse(body, boundary: boundary, chunkSizes: [3, 3, 3, 3])

        #expect(parsed.first?.headers == PartHeaders())
        #expect(parsed.first?.content == Array("xy".utf8))
    }
}

@Suite("Multipart header values")
struct MultipartHeaderValueTests {
    @Test(
        "the boundary is read from any multipart type, quoted or not",
        arguments: [
            ("multipart/mixed; boundary=abc123", "abc123"),
            ("multipart/form-data; boundary=\"a b;c\"", "a b;c"),
            ("Multipart/Form-Data;charset=utf-8;BOUNDARY=xyz", "xyz"),
        ])
    func boundaries(contentType: String, expected: String) {
        #expect(MultipartBoundary.from(contentType: contentType) == expected)
    }

    @Test(
        "no boundary comes from other types or a missing parameter",
        arguments: ["application/json", "multipart/mixed", "multipart/mixed; boundary=", "text/plain; boundary=x"])
    func noBoundary(contentType: String) {
        #expect(MultipartBoundary.from(contentType: contentType) == nil)
    }

    @Test("content dispositions of both clients and escaped quotes are parsed")
    func dispositions() {
        let python = ContentDisposition(parsing: "attachment; filename=\"abc.filez\"")
        let rust = ContentDisposition(parsing: "form-data; name=\"file0\"; filename=\"x.delta\"")
        let unquoted = ContentDisposition(parsing: "attachment;filename=plain.commit")
        let escaped = ContentDisposition(parsing: #"attachment; filename="a\"b\\c""#)
        let extended = ContentDisposition(parsing: "attachment; filename*=UTF-8''na%C3%AFve.txt")

        #expect(python.type == "attachment" && python.filename == "abc.filez")
        #expect(rust.type == "form-data" && rust.parameters["name"] == "file0" && rust.filename == "x.delta")
        #expect(unquoted.filename == "plain.commit")
        #expect(escaped.filename == #"a"b\c"#)
        #expect(extended.filename == "naïve.txt")
    }

    @Test("header lookup ignores case and a disposition-less part has none")
    func headerLookup() {
        let headers = PartHeaders(fields: [(name: "Content-Type", value: "application/octet-stream")])

        #expect(headers.value("content-type") == "application/octet-stream")
        #expect(headers.contentDisposition == nil)
    }
}
