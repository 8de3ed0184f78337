import Foundation

/// A wall-clock instant in UTC with microsecond precision, as the database stores it.
///
/// Upstream serialises these "naive" timestamps without a zone (`2024-05-01T12:30:05.123456`) and `start_after` as
/// a `{secs_since_epoch, nanos_since_epoch}` object; both forms are produced here so every type agrees.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The last instant the naive form can write (its year has four digits) and both databases can store:
    /// 9999-12-31T23:59:59.999999.
    public static let maximum = Timestamp(microsecondsSinceEpoch: 253_402_300_799_999_999)

    /// The first such instant: 0001-01-01T00:00:00 (the naive form has no sign and no year zero).
    public static let minimum = Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)

    /// The instant of `date`, clamped to `minimum...maximum` (NaN reads as the epoch). A `Date` is a `Double` and
    /// may come from the database, where `Int64(_:)` of a far one would trap.
    public init(date: Date) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard !micros.isNaN else {
            self.init(microsecondsSinceEpoch: 0)
            return
        }
        let bounded = min(
            max(micros, Double(Self.minimum.microsecondsSinceEpoch)), Double(Self.maximum.microsecondsSinceEpoch))
        self.init(clamping: Int64(bounded))
    }

    /// The instant `secondsSinceEpoch` seconds after the epoch, clamped to `minimum...maximum`.
    ///
    /// A token's `exp` is any Int64 the signer chose; only its comparison with now decides anything, so its stored
    /// copy (`tokens.expires`, informational) is clamped rather than the token refused: a token "valid until year
    /// 300000" reads as valid until 9999-12-31, which no one alive can tell apart.
    public init(secondsSinceEpoch: Int64) {
        let seconds = min(
            max(secondsSinceEpoch, Self.minimum.secondsSinceEpoch), Self.maximum.secondsSinceEpoch)
        self.init(microsecondsSinceEpoch: seconds * 1_000_000)  // cannot overflow: |seconds| < 2.6e11
    }

    /// `microseconds` clamped to `minimum...maximum`.
    init(clamping microseconds: Int64) {
        self.microsecondsSinceEpoch = min(
            max(microseconds, Self.minimum.microsecondsSinceEpoch), Self.maximum.microsecondsSinceEpoch)
    }

    /// The current time, truncated to microseconds.
    public static func now() -> Timestamp { Timestamp(date: Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }
    public var secondsSinceEpoch: Int64 { microsecondsSinceEpoch.floorDivided(by: 1_000_000) }

    /// The instant `seconds` later (earlier when negative), clamped to `minimum...maximum` instead of trapping.
    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(clamping: microsecondsSinceEpoch.saturatingAdding(seconds.saturatingMultiplied(by: 1_000_000)))
    }

    /// Microseconds past the whole second, 0...999_999 (also before the epoch; never overflows).
    var microsecondsOfSecond: Int64 {
        let remainder = microsecondsSinceEpoch % 1_000_000
        return remainder < 0 ? remainder + 1_000_000 : remainder
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// `YYYY-MM-DDTHH:MM:SS` plus `.` and 3 or 6 fraction digits when the fraction is not zero (the shortest exact group).
    public var naiveString: String {
        let seconds = secondsSinceEpoch
        let micros = Int(microsecondsOfSecond)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: seconds.floorDivided(by: 86_400))
        let secondOfDay = Int(seconds - seconds.floorDivided(by: 86_400) * 86_400)
        var text = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, secondOfDay / 3600, (secondOfDay / 60) % 60,
            secondOfDay % 60)
        if micros != 0 {
            text += micros % 1000 == 0 ? String(format: ".%03d", micros / 1000) : String(format: ".%06d", micros)
        }
        return text
    }

    /// Parses the naive form (fraction of 1 to 9 digits; precision below microseconds is dropped). Only unsigned
    /// ASCII digits and in-range fields are accepted.
    public init?(naiveString text: String) {
        let parts = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let timeAndFraction = parts[1].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let date = Self.fields(parts[0], separator: "-", widths: [4, 2, 2]),
            let time = Self.fields(timeAndFraction[0], separator: ":", widths: [2, 2, 2]),
            (1...12).contains(date[1]), (1...31).contains(date[2]),
            (0...23).contains(time[0]), (0...59).contains(time[1]), (0...60).contains(time[2])
        else { return nil }
        var micros: Int64 = 0
        if timeAndFraction.count == 2 {
            let fraction = timeAndFraction[1]
            guard (1...9).contains(fraction.count), Self.isDigits(fraction) else { return nil }
            micros = Int64(String(fraction.prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)) ?? 0
        }
        let days = Self.daysSinceEpoch(year: date[0], month: date[1], day: date[2])
        let seconds = days * 86_400 + Int64(time[0] * 3600 + time[1] * 60 + time[2])
        self.microsecondsSinceEpoch = seconds * 1_000_000 + micros
    }

    static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// Fixed-width unsigned decimal fields separated by `separator`.
    static func fields(_ text: Substring, separator: Character, widths: [Int]) -> [Int]? {
        let pieces = text.split(separator: separator, omittingEmptySubsequences: false)
        guard pieces.count == widths.count else { return nil }
        var values: [Int] = []
        for (piece, width) in zip(pieces, widths) {
            guard piece.count == width, isDigits(piece), let value = Int(piece) else { return nil }
            values.append(value)
        }
        return values
    }

    /// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm: no
    /// Calendar, no time zone database involved).
    public static func civilDate(daysSinceEpoch: Int64) -> (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = z.floorDivided(by: 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date; the inverse of `civilDate(daysSinceEpoch:)`.
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = y.floorDivided(by: 400)
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(naiveString: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Invalid timestamp \(text)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(naiveString)
    }
}

/// The `{"secs_since_epoch": n, "nanos_since_epoch": n}` object upstream uses for a job's `start_after`.
public struct SystemTimeObject: Codable, Sendable, Equatable {
    public var secsSinceEpoch: Int64
    public var nanosSinceEpoch: Int64

    enum CodingKeys: String, CodingKey {
        case secsSinceEpoch = "secs_since_epoch"
        case nanosSinceEpoch = "nanos_since_epoch"
    }

    public init(_ timestamp: Timestamp) {
        secsSinceEpoch = timestamp.secondsSinceEpoch
        nanosSinceEpoch = timestamp.microsecondsOfSecond * 1000
    }

    /// The instant, clamped to `Timestamp.minimum...maximum`: the object may come from a peer (a job read by the
    /// client), and any two Int64 are valid JSON.
    public var timestamp: Timestamp {
        Timestamp(
            clamping: secsSinceEpoch.saturatingMultiplied(by: 1_000_000).saturatingAdding(nanosSinceEpoch / 1000))
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
