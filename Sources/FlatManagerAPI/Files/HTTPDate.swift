import FlatManagerCore
import NIOCore

/// HTTP dates (RFC 9110 §5.6.7) for `Last-Modified` and the conditional request headers.
///
/// Pure Swift on purpose: `strptime` is not imported from Glibc, and `struct tm`'s fields are not
/// visible under MemberImportVisibility without importing a NIO-internal C module.
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func format(secondsSinceEpoch seconds: Int) -> String {
        var buffer = ByteBuffer()
        write(secondsSinceEpoch: seconds, into: &buffer)
        return String(buffer: buffer)
    }

    /// How many bytes a date takes.
    static let length = 29

    /// `format` written onto the end of `buffer` (the fast path's `Last-Modified`: no string per request).
    static func write(secondsSinceEpoch seconds: Int, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
            var cursor = ByteCursor(memory)
            write(secondsSinceEpoch: seconds, into: &cursor)
            return cursor.overflowed ? 0 : cursor.count
        }
    }

    /// `format` written at `cursor` (`length` bytes). Times are clamped to the years 1 to 9999, so a file's absurd
    /// time stamp cannot overflow the arithmetic, and the year always has its four digits.
    static func write(secondsSinceEpoch seconds: Int, into cursor: inout ByteCursor) {
        let seconds = min(max(seconds, -62_135_596_800), 253_402_300_799)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = civil(fromDays: days)
        let weekday = ((days % 7) + 7) % 7
        cursor.write(UnsafeRawBufferPointer(start: weekdayNames.utf8Start + 3 * weekday, count: 3))
        cursor.write(", ")
        cursor.writePadded(UInt64(day), digits: 2)
        cursor.write(byte: UInt8(ascii: " "))
        cursor.write(UnsafeRawBufferPointer(start: monthNames.utf8Start + 3 * (month - 1), count: 3))
        cursor.write(byte: UInt8(ascii: " "))
        cursor.writePadded(UInt64(year), digits: 4)
        cursor.write(byte: UInt8(ascii: " "))
        cursor.writePadded(UInt64(secondOfDay / 3600), digits: 2)
        cursor.write(byte: UInt8(ascii: ":"))
        cursor.writePadded(UInt64(secondOfDay / 60 % 60), digits: 2)
        cursor.write(byte: UInt8(ascii: ":"))
        cursor.writePadded(UInt64(secondOfDay % 60), digits: 2)
        cursor.write(" GMT")
    }

    private static let weekdayNames: StaticString = "ThuFriSatSunMonTueWed"  // 1970-01-01 was a Thursday
    private static let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// Seconds since the epoch for IMF-fixdate, RFC 850 and asctime dates (the three a recipient
    /// must accept); nil for anything else. The year has 4 digits (2 in RFC 850), as the grammar says: a longer
    /// one (`If-Modified-Since: ... 9223372036854775807 ...`) would overflow the day arithmetic and trap.
    static func parse(_ text: String) -> Int? {
        let tokens = text.split { $0 == " " || $0 == "," || $0 == "-" || $0 == ":" }.map(String.init)
        let fields: (day: String, month: String, year: String, time: ArraySlice<String>)
        switch tokens.count {
        case 8 where tokens[7] == "GMT":  // IMF-fixdate and RFC 850
            fields = (tokens[1], tokens[2], tokens[3], tokens[4...6])
        case 7:  // asctime: Sun Nov  6 08:49:37 1994
            fields = (tokens[2], tokens[1], tokens[6], tokens[3...5])
        default:
            return nil
        }
        guard fields.year.count == 4 || fields.year.count == 2, fields.day.count <= 2,
            fields.year.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let day = Int(fields.day), let monthIndex = months.firstIndex(of: fields.month),
            var year = Int(fields.year), let hour = Int(fields.time[fields.time.startIndex]),
            let minute = Int(fields.time[fields.time.startIndex + 1]),
            let second = Int(fields.time[fields.time.startIndex + 2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        if fields.year.count == 2 { year += year < 70 ? 2000 : 1900 }
        return days(fromCivil: year, monthIndex + 1, day) * 86400 + hour * 3600 + minute * 60 + second
    }

    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        Int(Timestamp.daysSinceEpoch(year: year, month: month, day: day))
    }

    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        Timestamp.civilDate(daysSinceEpoch: Int64(days))
    }
}
