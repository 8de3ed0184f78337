import FlatManagerCore
import NIOCore
import OSTree

/// `missing_objects` reads and writes up to ~140,000 object names per request (a whole runtime asked at once). Both
/// clients send the body in one plain shape, `{"wanted":["<name>", ...]}` with no escapes, which this reads straight
/// from the bytes into validated `ObjectName`s; Foundation's `JSONDecoder` spent most of the request's time on it.
/// Any other shape (extra keys, escapes, odd whitespace, anything unexpected) answers `.notPlain` and the caller
/// decodes the body in full with `JSONDecoder`, so what is accepted and the error messages stay exactly as before.
enum WantedObjects {
    enum Parsed {
        /// Every name was a valid object name.
        case names([ObjectName])
        /// The shape is plain but this string is not an object name (`Invalid object name <string>`).
        case invalid(String)
        /// Not the plain shape: decode in full.
        case notPlain
    }

    /// Reads `{"wanted":[...]}` (whitespace allowed between tokens) from `bytes`.
    static func parse(_ bytes: ByteBuffer) -> Parsed {
        bytes.withUnsafeReadableBytes { raw -> Parsed in
            var scanner = Scanner(bytes: raw)
            guard scanner.take(UInt8(ascii: "{")), scanner.takeKey("wanted"), scanner.take(UInt8(ascii: ":")),
                scanner.take(UInt8(ascii: "["))
            else { return .notPlain }
            var names: [ObjectName] = []
            names.reserveCapacity(raw.count / 72)
            // The first string that is no object name; reported only once the whole body proved plain, as the
            // decoder would find a broken body before any name.
            var invalid: Range<Int>?
            if !scanner.take(UInt8(ascii: "]")) {
                repeat {
                    // Most strings are object names: taken whole up to the next quote. Anything else (an escape,
                    // a control character, text that is no name) is read again the careful way.
                    if invalid == nil, let name = scanner.objectName() {
                        names.append(name)
                        continue
                    }
                    guard let string = scanner.string() else { return .notPlain }
                    if invalid == nil {
                        if let name = ObjectName(utf8: UnsafeRawBufferPointer(rebasing: raw[string])) {
                            names.append(name)
                        } else {
                            invalid = string
                        }
                    }
                } while scanner.take(UInt8(ascii: ","))
                guard scanner.take(UInt8(ascii: "]")) else { return .notPlain }
            }
            guard scanner.take(UInt8(ascii: "}")), scanner.atEnd else { return .notPlain }
            if let invalid {
                return .invalid(String(decoding: UnsafeRawBufferPointer(rebasing: raw[invalid]), as: UTF8.self))
            }
            return .names(names)
        }
    }

    /// `{"missing":["<name>",...]}`, as `JSONEncoder` writes it (object names never need escaping).
    static func missingResponse(_ names: [ObjectName]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(14 + names.count * 76)
        buffer.writeString("{\"missing\":[")
        for (index, name) in names.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(name.checksum)
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeString(name.type.rawValue)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
        buffer.writeString("]}")
        return buffer
    }

    /// A cursor over JSON text that skips whitespace before every token.
    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var atEnd: Bool {
            mutating get {
                skipWhitespace()
                return index == bytes.count
            }
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        /// Consumes `byte` (after whitespace) if it is next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Consumes the string `"key"` if it is next, spelled without escapes.
        mutating func takeKey(_ key: StaticString) -> Bool {
            guard let range = string(), range.count == key.utf8CodeUnitCount else { return false }
            let expected = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            return bytes[range].elementsEqual(expected)
        }

        /// The next string if it is an object name, consumed; nil (nothing consumed) otherwise. A name is hex digits,
        /// a dot and a type, so a string that makes one has no escape or other special character in it.
        mutating func objectName() -> ObjectName? {
            skipWhitespace()
            let start = index + 1
            // The shortest name is 64 digits, a dot and five letters; the longest type has seven.
            guard start + 70 < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            var end = start + 70
            while end < bytes.count && end <= start + 72 && bytes[end] != UInt8(ascii: "\"") { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\""),
                let name = ObjectName(utf8: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            else { return nil }
            index = end + 1
            return name
        }

        /// The byte range of the next string's contents; nil unless it is a plain ASCII string without escapes.
        mutating func string() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<(index - 1)
                }
                // Escapes, control characters (invalid JSON) and non-ASCII text: the full decoder's business.
                guard byte != UInt8(ascii: "\\"), byte >= 0x20, byte < 0x80 else { return nil }
                index += 1
            }
            return nil
        }
    }
}
