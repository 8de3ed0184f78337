#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A write position in memory reserved for it (`ByteBuffer.writeWithUnsafeMutableBytes`): the fast path writes a
/// response head or an access-log message with plain stores, rather than one `ByteBuffer` call (each with its
/// capacity and uniqueness checks) per piece (issue #13).
///
/// It never writes past the reserved memory: a piece that does not fit is dropped and `overflowed` is set, and the
/// caller then discards what was written (a wrong bound is a declined fast answer, never a trap or a stray write).
public struct ByteCursor {
    @usableFromInline let base: UnsafeMutableRawPointer?
    @usableFromInline let capacity: Int
    @usableFromInline var written = 0
    @usableFromInline var dropped = false

    /// How many bytes were written.
    @inlinable public var count: Int { written }
    /// Whether a piece did not fit (and was not written).
    @inlinable public var overflowed: Bool { dropped }

    @inlinable
    public init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress
        capacity = base == nil ? 0 : memory.count
    }

    /// Reserves `count` bytes, or marks the cursor overflowed; the start of the reserved bytes.
    @inlinable @inline(__always)
    mutating func reserve(_ needed: Int) -> UnsafeMutableRawPointer? {
        guard let base, !dropped, needed <= capacity &- written else {
            dropped = true
            return nil
        }
        let start = base + written
        written &+= needed
        return start
    }

    @inlinable @inline(__always)
    public mutating func write(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        guard let start = reserve(length) else { return }
        memcpy(start, text.utf8Start, length)
    }

    @inlinable @inline(__always)
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        guard let start = reserve(bytes.count) else { return }
        memcpy(start, source, bytes.count)
    }

    @inlinable
    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    @inlinable @inline(__always)
    public mutating func write(byte: UInt8) {
        guard let start = reserve(1) else { return }
        start.storeBytes(of: byte, as: UInt8.self)
    }

    /// `value` in decimal.
    @inlinable
    public mutating func writeDecimal(_ value: UInt64) {
        var digits = 1
        var limit: UInt64 = 10
        while digits < 20, value >= limit {
            digits += 1
            limit = limit &* 10
        }
        writePadded(value, digits: digits)
    }

    /// The lowest `digits` decimal digits of `value` (at most 20), left-padded with zeros.
    @inlinable
    public mutating func writePadded(_ value: UInt64, digits: Int) {
        let digits = min(max(digits, 1), 20)
        guard let start = reserve(digits) else { return }
        var rest = value
        for position in stride(from: digits - 1, through: 0, by: -1) {
            start.storeBytes(
                of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10), toByteOffset: position, as: UInt8.self)
            rest /= 10
        }
    }

    /// `value` in lowercase hex, left-padded with zeros to `digits` (at most 16).
    @inlinable
    public mutating func writeHex(_ value: UInt64, digits: Int) {
        let digits = min(max(digits, 1), 16)
        guard let start = reserve(digits) else { return }
        for position in 0..<digits {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64((digits - 1 - position) * 4)) & 0xF
            start.storeBytes(
                of: nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &- 10 &+ nibble,
                toByteOffset: position, as: UInt8.self)
        }
    }

    /// `value` in lowercase hex without leading zeros (`0` for zero).
    @inlinable
    public mutating func writeHex(_ value: UInt64) {
        writeHex(value, digits: max(1, (64 - value.leadingZeroBitCount + 3) / 4))
    }
}
