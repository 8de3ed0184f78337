import FlatManagerCore
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One request over a raw socket with `Connection: close`: any method may carry a body (URLSession refuses a GET
/// with one, and the job and missing-objects GETs take one), and the body is sent byte for byte.
enum RawRequest {
    /// The answer: status 0 when the server closed the connection without answering (what a crash looks like).
    struct Answer: Sendable {
        var status: Int
        var body: String
    }

    static func send(
        port: Int, _ method: String, _ path: String, token: String?, body: Data? = nil,
        contentType: String? = "application/json", headers: [String: String] = [:]
    ) throws -> Answer {
        let descriptor = try RawHTTP.connectLoopback(port: port)
        defer { close(descriptor) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        // A server that answers early (e.g. 413) and closes may make the rest of a big body fail to send; the
        // answer, if any, is still there to read.
        try? RawHTTP.sendAll(descriptor, Array(head.utf8) + Array(body ?? Data()))
        let raw = String(decoding: RawHTTP.receiveAll(descriptor), as: UTF8.self)
        let parts = raw.components(separatedBy: "\r\n\r\n")
        var text = parts.dropFirst().joined(separator: "\r\n\r\n")
        if (parts.first ?? "").lowercased().contains("transfer-encoding: chunked") { text = Ops.dechunk(text) }
        return Answer(status: RawHTTP.statusCode(of: raw), body: text)
    }
}

/// Extreme and wrong values for JSON fields and token claims, as JSON text: every one of them must get a 4xx (or a
/// success where the value is legal), never a crash and never a 5xx.
enum HostileValue {
    /// Integers at and beyond every boundary the server's types have (Int16/Int32/Int64/UInt64), in every spelling.
    static let numbers: [String] = [
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "2147483647", "2147483648", "-2147483649", "4294967296",
        "32768", "-1", "0", "-0", "-0.0", "0.5", "1.5", "1e13", "1E13", "1e308", "-1e308", "1e309", "4.9e-324",
        "123456789012345678901234567890", "1e-400", "10000000000000",
    ]

    /// Strings: empty, long, odd Unicode, escapes (NUL, lone surrogates), paths and look-alikes of valid values.
    static let strings: [String] = [
        #""""#, #""stable""#, #""org.test.Hello""#, #""app/org.test.Hello/x86_64/stable""#, #""\u0000""#,
        #""a\u0000b""#, #""\ud800""#, #""\udfff\ud800""#, #""\u00e9\u4e2d\ud83d\ude00""#, #""\u202e\u200b""#,
        #""../../../../etc/passwd""#, #""/etc/passwd""#, #""app/org.test.Hello/../../-stable""#, #""%00%2e%2e""#,
        #""\\u0000""#, #""\n\r\t\"""#, #""9223372036854775808""#, #""null""#, #""build/2147483648""#,
        "\"" + String(repeating: "a", count: 70_000) + "\"",
        "\"" + String(repeating: "\u{00e9}\u{4e2d}", count: 20_000) + "\"",
    ]

    /// Wrong shapes: null, booleans, containers, and nesting far deeper than any decoder should recurse.
    static let shapes: [String] = [
        "null", "true", "false", "[]", "{}", "[null]", #"[1,"a",true,null,{}]"#, #"{"":null}"#, #"["\u0000"]"#,
        nested("[", "]", depth: 100_000), nested(#"{"a":"#, "}", depth: 20_000, inner: "1"),
        nested("[", "]", depth: 600),
        list("9223372036854775807", count: 5_000), list(#""x""#, count: 5_000),
    ]

    /// `depth` openings, `inner`, `depth` closings.
    static func nested(_ open: String, _ close: String, depth: Int, inner: String = "") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    /// A JSON array of `count` copies of `element`.
    static func list(_ element: String, count: Int) -> String {
        "[" + Array(repeating: element, count: count).joined(separator: ",") + "]"
    }

    static let all = numbers + strings + shapes

    /// Bodies that are not a JSON object at all.
    static let wholeBodies: [String] = [
        "", "{", "}", "{\"a\":", "\u{FEFF}{}", "[]", "null", "0", "\"{}\"", "{}{}", "{\"a\":1,}", "\u{0}",
        "{\"a\":\"\u{1}\"}", "\u{FF}\u{FE}",
    ]

    /// Claim values sized for an `Authorization` header (the server's header limit is not what is under test here).
    static let claimValues: [String] = {
        let small = (shapes + strings).filter { $0.utf8.count < 4_096 }
        let longString = "\"" + String(repeating: "j", count: 3_000) + "\""
        return numbers + small + [longString]
    }()
}

/// A seeded choice among the hostile values.
extension SeededRandom {
    mutating func pick<T>(_ values: [T]) -> T {
        values[Int(next() % UInt64(values.count))]
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { nextUnit() < p }
}
