import TestSupport
import Testing

@testable import FlatManagerAPI

/// The strict reader of request heads in front of NIO's decoder (`RepoWireHandler`, issue #13): it takes exactly the
/// heads it understands, waits for the rest of a head, and leaves everything else to the decoder.
@Suite("Wire request heads")
struct WireRequestHeadTests {
    static let object = "/repo/stable/objects/ab/cdef.filez"

    static func scan(_ text: String) -> WireRequestHead.Scan {
        Array(text.utf8).withUnsafeBytes { WireRequestHead.scan($0) }
    }

    static func text(_ text: String, _ range: Range<Int>?) -> String? {
        range.map { String(decoding: Array(text.utf8)[$0], as: UTF8.self) }
    }

    @Test("a GET with the headers flatpak sends is read with its target, token and user agent")
    func plainGet() {
        let text =
            "GET \(Self.object) HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent:  libostree/2022.7 \r\n"
            + "Accept: */*\r\nAuthorization: Bearer abc\r\nContent-Length: 0\r\n\r\nGET /next"

        guard case .request(let head) = Self.scan(text) else {
            Issue.record("not read: \(Self.scan(text))")
            return
        }

        #expect(head.method == .get)
        #expect(head.plain)
        #expect(Self.text(text, head.uri) == Self.object)
        #expect(Self.text(text, head.userAgent) == "libostree/2022.7")
        #expect(Self.text(text, head.authorization) == "Bearer abc")
        #expect(head.length == text.utf8.count - "GET /next".utf8.count)
        #expect(head.upgradeLines.isEmpty)
    }

    @Test("every proper prefix of a head is incomplete, never a decision")
    func prefixesWait() {
        let text = "HEAD \(Self.object) HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
        let bytes = Array(text.utf8)

        for length in 0..<bytes.count {
            let scan = bytes[0..<length].withUnsafeBytes { WireRequestHead.scan($0) }
            #expect(scan == .incomplete, "\(length) bytes")
        }
        guard case .request(let head) = Self.scan(text) else {
            Issue.record("the whole head is read")
            return
        }
        #expect(head.method == .head && head.length == bytes.count)
    }

    @Test(
        "heads the decoder and the router must handle are passed through",
        arguments: [
            "POST /api/v1/build HTTP/1.1\r\nHost: x\r\n\r\n",
            "PUT \(object) HTTP/1.1\r\n\r\n",
            "get \(object) HTTP/1.1\r\n\r\n",
            "GET \(object) HTTP/1.0\r\n\r\n",
            "GET \(object) HTTP/1.1 \r\n\r\n",
            "GET  HTTP/1.1\r\n\r\n",
            "GET /a\u{1}b HTTP/1.1\r\n\r\n",
            "GET \(object) HTTP/1.1\nHost: x\n\n",
            "GET \(object) HTTP/1.1\r\nHost: x\n\r\n",
            "GET \(object) HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nConnection: keep-alive, TE\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "GET \(object) HTTP/1.1\r\nContent-Length: 00\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET /api/v1/delta/worker HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nNo colon here\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nX-A: b\r\n folded\r\n\r\n",
            "GET \(object) HTTP/1.1\r\nX-A: a\u{0}b\r\n\r\n",
            "GET \(object) HTTP/1.1\r\n: empty name\r\n\r\n",
            "XYZ",
        ])
    func passedThrough(_ text: String) {
        #expect(Self.scan(text) == .passthrough)
    }

    @Test("a head longer than the limit is the decoder's, complete or not")
    func longHeads() {
        let filler = "X-Filler: " + String(repeating: "a", count: WireRequestHead.maximumLength) + "\r\n"
        #expect(Self.scan("GET \(Self.object) HTTP/1.1\r\n" + filler) == .passthrough)
        #expect(Self.scan("GET \(Self.object) HTTP/1.1\r\n" + filler + "\r\n") == .passthrough)
        #expect(Self.scan("GET /" + String(repeating: "a", count: WireRequestHead.maximumLength)) == .passthrough)
    }

    @Test("Range, conditional headers and a second Authorization make a head not plain")
    func notPlain() {
        for header in [
            "Range: bytes=0-1", "If-None-Match: \"x\"", "If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT",
            "if-match: *", "If-Range: \"x\"", "IF-UNMODIFIED-SINCE: x",
            "Authorization: Bearer a\r\nAuthorization: Bearer b",
        ] {
            guard case .request(let head) = Self.scan("GET \(Self.object) HTTP/1.1\r\n\(header)\r\n\r\n") else {
                Issue.record("\(header): not read")
                continue
            }
            #expect(!head.plain, "\(header)")
        }
    }

    @Test("an h2c upgrade request is read, with the lines that ask for it")
    func h2cUpgrade() {
        let upgradeLines = [
            "Connection: Upgrade, HTTP2-Settings\r\n", "Upgrade: h2c\r\n",
            "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
        ]
        let text = "GET \(Self.object) HTTP/1.1\r\nHost: x\r\n" + upgradeLines.joined() + "Accept: */*\r\n\r\n"

        guard case .request(let head) = Self.scan(text) else {
            Issue.record("not read: \(Self.scan(text))")
            return
        }

        #expect(head.plain)
        #expect(head.upgradeLines.compactMap { Self.text(text, $0) } == upgradeLines)
    }

    @Test("random corruptions of a head never trap and never claim more bytes than there are")
    func corruptions() {
        var random = SeededRandom(seed: 0x5eed)
        let base = Array(
            "GET \(Self.object) HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nRange: bytes=1-2\r\n\r\n"
                .utf8)
        var read = 0
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
                }
            }
            let scan = bytes.withUnsafeBytes { WireRequestHead.scan($0) }
            if case .request(let head) = scan {
                read += 1
                #expect(head.length <= bytes.count)
                #expect(head.uri.upperBound <= head.length)
                #expect(head.upgradeLines.allSatisfy { $0.upperBound <= head.length })
            }
        }
        #expect(read > 0, "some corruptions (in header values) still read as heads")
    }
}
