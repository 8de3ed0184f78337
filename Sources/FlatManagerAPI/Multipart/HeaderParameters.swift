/// Parses header values of the shape `value; name=token; name="quoted \"string\""`, as used by
/// `Content-Type` and `Content-Disposition`. Parameter names are lowercased; a malformed parameter
/// ends the parse (what came before it is kept), because clients in the wild are sloppy and the
/// only parameters we need (`boundary`, `filename`) come first in practice.
enum HeaderParameters {
    /// The leading value (lowercased, trimmed) and the parameters that follow it.
    static func parse(_ header: String) -> (value: String, parameters: [String: String]) {
        var scanner = Scanner(bytes: Array(header.utf8))
        let value = trim(scanner.readUntil(";")).lowercased()
        var parameters: [String: String] = [:]
        while scanner.skip(";") {
            scanner.skipWhitespace()
            let name = trim(scanner.readUntil("=", orEnd: ";")).lowercased()
            guard !name.isEmpty, scanner.skip("=") else { continue }
            scanner.skipWhitespace()
            let raw = scanner.peekIsQuote ? scanner.readQuoted() : trim(scanner.readUntil(";"))
            if name.hasSuffix("*") {
                // RFC 8187 extended value: charset'language'percent-encoded; only UTF-8 is meaningful today.
                parameters[name] = decodeExtendedValue(raw) ?? raw
            } else if parameters[name] == nil {
                parameters[name] = raw
            }
        }
        return (value, parameters)
    }

    /// Decodes `UTF-8''na%C3%AFve.txt` to `naïve.txt`; nil if the value is not in that form.
    static func decodeExtendedValue(_ raw: String) -> String? {
        let pieces = raw.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        var bytes: [UInt8] = []
        var utf8 = Array(pieces[2].utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let hex = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(hex)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A forward-only cursor over the bytes of a header value.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var peekIsQuote: Bool { index < bytes.count && bytes[index] == UInt8(ascii: "\"") }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
                index += 1
            }
        }

        /// Reads up to (not including) `stop`, or `alsoStop`, or the end.
        mutating func readUntil(_ stop: Unicode.Scalar, orEnd alsoStop: Unicode.Scalar? = nil) -> String {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: stop),
                alsoStop.map({ bytes[index] != UInt8(ascii: $0) }) ?? true
            {
                index += 1
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// Reads a quoted string starting at the opening quote, resolving backslash escapes, and
        /// then skips anything up to the next `;` (tolerating an unterminated quote).
        mutating func readQuoted() -> String {
            index += 1
            var out: [UInt8] = []
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    index += 1
                }
                out.append(bytes[index])
                index += 1
            }
            _ = readUntil(";")
            return String(decoding: out, as: UTF8.self)
        }
    }
}

extension HeaderParameters {
    /// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
    static func trim(_ text: some StringProtocol) -> String {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isWhitespace($0) }),
            let last = text.lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return String(text[first...last])
    }
}
