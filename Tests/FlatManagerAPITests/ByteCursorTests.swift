import Testing

@testable import FlatManagerAPI

@Suite("ByteCursor")
struct ByteCursorTests {
    /// What `body` writes into `capacity` bytes, and whether it overflowed.
    private func written(capacity: Int, _ body: (inout ByteCursor) -> Void) -> (String, Bool) {
        var bytes = [UInt8](repeating: 0xEE, count: capacity + 8)
        let (count, overflowed) = bytes.withUnsafeMutableBytes { memory -> (Int, Bool) in
            var cursor = ByteCursor(UnsafeMutableRawBufferPointer(rebasing: memory[0..<capacity]))
            body(&cursor)
            return (cursor.count, cursor.overflowed)
        }
        // Nothing past the reserved memory is touched.
        #expect(bytes[capacity...].allSatisfy { $0 == 0xEE })
        return (String(decoding: bytes[0..<count], as: UTF8.self), overflowed)
    }

    @Test("numbers in decimal, padded decimal and hex, as the router writes them")
    func numbers() {
        let (text, overflowed) = written(capacity: 128) { cursor in
            cursor.writeDecimal(0)
            cursor.write(byte: UInt8(ascii: " "))
            cursor.writeDecimal(UInt64.max)
            cursor.write(" ")
            cursor.writePadded(42, digits: 6)
            cursor.write(" ")
            cursor.writeHex(0)
            cursor.write(" ")
            cursor.writeHex(0xABC)
            cursor.write(" ")
            cursor.writeHex(0xABC, digits: 16)
        }
        #expect(!overflowed)
        #expect(text == "0 18446744073709551615 000042 0 abc 0000000000000abc")
        for value: UInt64 in [1, 9, 10, 99, 100, 12345, 1 << 40] {
            #expect(written(capacity: 32) { $0.writeDecimal(value) }.0 == String(value))
            #expect(written(capacity: 32) { $0.writeHex(value) }.0 == String(value, radix: 16))
        }
    }

    @Test("a piece that does not fit is dropped and marks the cursor; nothing is written past the memory")
    func overflow() {
        let (text, overflowed) = written(capacity: 10) { cursor in
            cursor.write("12345")
            cursor.write("678901")  // Does not fit: dropped.
            cursor.write("x")  // After an overflow nothing more is written.
            cursor.writeDecimal(UInt64.max)
        }
        #expect(overflowed)
        #expect(text == "12345")
        let (empty, none) = written(capacity: 0) { $0.writeHex(1, digits: 16) }
        #expect(empty.isEmpty && none)
    }

    @Test(
        "the ETag (the router's and the fast path's) is size, times and nanoseconds in hex, negatives as two's complement"
    )
    func eTag() {
        let cases: [(FileIdentity, String)] = [
            (
                FileIdentity(
                    size: 0, modifiedSeconds: 0, modifiedNanoseconds: 0, changedSeconds: 0, changedNanoseconds: 0),
                "\"0-0-0-0-0\""
            ),
            (
                FileIdentity(
                    size: 16384, modifiedSeconds: 1_764_000_000, modifiedNanoseconds: 123_456_789,
                    changedSeconds: -5, changedNanoseconds: 999_999_999),
                "\"4000-69248100-75bcd15-fffffffffffffffb-3b9ac9ff\""
            ),
        ]
        for (identity, expected) in cases {
            let (text, overflowed) = written(capacity: FileIdentity.eTagCapacity) { identity.writeETag(into: &$0) }
            #expect(!overflowed)
            #expect(text == expected)
            #expect(identity.eTag == expected)
        }
    }

    @Test("request ids are 32 hex digits and unique across counter blocks and connections")
    func requestIDs() {
        var first = WireRequestID()
        var second = WireRequestID()
        var seen = Set<String>()
        // Past a block's end on both, interleaved as two connections would take them.
        for _ in 0..<(Int(WireRequestID.block) + 10) {
            for index in 0..<2 {
                let (id, overflowed) = written(capacity: 32) { cursor in
                    if index == 0 { first.write(into: &cursor) } else { second.write(into: &cursor) }
                }
                #expect(!overflowed)
                let isHex = id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
                #expect(id.count == 32 && isHex)
                #expect(seen.insert(id).inserted, "\(id) twice")
            }
        }
        // One process part for all.
        #expect(Set(seen.map { $0.prefix(16) }).count == 1)
    }
}
