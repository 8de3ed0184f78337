/// HTTP dates (RFC 9110 §5.6.7) for `Last-Modified` and the conditional request headers.
///
/// Pure Swift on purpose: `strptime` is not imported from Glibc, and `struct tm`'s fields are not
/// visible under MemberImportVisibility without importing a NIO-internal C module.
enum HTTPDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func format(secondsSinceEpoch seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = civil(fromDays: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = weekdays[((days % 7) + 7) % 7]
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    /// Seconds since the epoch for IMF-fixdate, RFC 850 and asctime dates (the three a recipient
    /// must accept); nil for anything else.
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
        guard let day = Int(fields.day), let monthIndex = months.firstIndex(of: fields.month),
            var year = Int(fields.year), let hour = Int(fields.time[fields.time.startIndex]),
            let minute = Int(fields.time[fields.time.startIndex + 1]),
            let second = Int(fields.time[fields.time.startIndex + 2]),
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        if fields.year.count == 2 { year += year < 70 ? 2000 : 1900 }
        return days(fromCivil: year, monthIndex + 1, day) * 86400 + hour * 3600 + minute * 60 + second
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    /// The inverse of `days(fromCivil:_:_:)`.
    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
