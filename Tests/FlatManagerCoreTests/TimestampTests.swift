import FlatManagerCore
import Foundation
import Testing

@Suite("Timestamp")
struct TimestampTests {
    static let base: Int64 = 1_714_566_605  // 2024-05-01T12:30:05Z

    @Test(arguments: [
        (Int64(0), "2024-05-01T12:30:05"),
        (Int64(123_000), "2024-05-01T12:30:05.123"),
        (Int64(123_456), "2024-05-01T12:30:05.123456"),
        (Int64(100), "2024-05-01T12:30:05.000100"),
    ])
    func theNaiveFormUsesZeroThreeOrSixDigits(micros: Int64, expected: String) {
        let timestamp = Timestamp(microsecondsSinceEpoch: Self.base * 1_000_000 + micros)

        #expect(timestamp.naiveString == expected)
    }

    @Test(arguments: ["2024-05-01T12:30:05", "2024-05-01T12:30:05.123", "2024-05-01T12:30:05.123456"])
    func theNaiveFormParsesBackToTheSameString(text: String) throws {
        let timestamp = try #require(Timestamp(naiveString: text))

        #expect(timestamp.naiveString == text)
    }

    @Test func nineFractionDigitsAreCutToMicroseconds() throws {
        let timestamp = try #require(Timestamp(naiveString: "2024-05-01T12:30:05.123456789"))

        #expect(timestamp.microsecondsSinceEpoch == Self.base * 1_000_000 + 123_456)
    }

    @Test func oneFractionDigitMeansTenths() throws {
        let timestamp = try #require(Timestamp(naiveString: "2024-05-01T12:30:05.5"))

        #expect(timestamp.microsecondsSinceEpoch == Self.base * 1_000_000 + 500_000)
    }

    @Test(arguments: ["", "2024-05-01", "2024-05-01 12:30:05", "12:30:05", "2024-05-01T12:30", "2024-05-01T"])
    func textThatIsNotANaiveTimestampGivesNil(text: String) {
        #expect(Timestamp(naiveString: text) == nil)
    }

    // Core bug (reported): Int(_:) accepts a leading sign and no field is range-checked, so these parse today.
    @Test(arguments: ["2024-05-01T12:30:05.-5", "2024-05-01T-1:30:05", "2024-13-01T00:00:00", "2024-05-01T25:00:00"])
    func signedOrOutOfRangeFieldsAreRejected(text: String) {
        #expect(Timestamp(naiveString: text) == nil)
    }

    @Test func datesBeforeTheEpochFormatCorrectly() {
        let timestamp = Timestamp(microsecondsSinceEpoch: -1_500_000)

        #expect(timestamp.naiveString == "1969-12-31T23:59:58.500")
        #expect(Timestamp(naiveString: "1969-12-31T23:59:58.500") == timestamp)
    }

    @Test func theNaiveFormAgreesWithFoundation() {
        let timestamp = Timestamp(secondsSinceEpoch: 951_782_400)  // leap day 2000
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"

        #expect(timestamp.naiveString == formatter.string(from: timestamp.date))
    }

    @Test func aSystemTimeObjectRoundTrips() throws {
        let timestamp = Timestamp(microsecondsSinceEpoch: Self.base * 1_000_000 + 512_000)

        let object = SystemTimeObject(timestamp)
        let json = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)

        #expect(object.secsSinceEpoch == Self.base)
        #expect(object.nanosSinceEpoch == 512_000_000)
        #expect(json.contains(#""secs_since_epoch":1714566605"#))
        #expect(object.timestamp == timestamp)
    }

    @Test func timestampsEncodeAsNaiveStrings() throws {
        let timestamp = Timestamp(secondsSinceEpoch: Self.base)

        let json = String(decoding: try JSONEncoder().encode([timestamp]), as: UTF8.self)

        #expect(json == #"["2024-05-01T12:30:05"]"#)
    }
}

@Suite("Timestamp at the edges of its range")
struct TimestampRangeTests {
    @Test(
        "seconds beyond year 9999 or before year 1 are clamped instead of overflowing",
        arguments: [
            (Int64.max, "9999-12-31T23:59:59"), (10_000_000_000_000, "9999-12-31T23:59:59"),
            (253_402_300_800, "9999-12-31T23:59:59"), (Int64.min, "0001-01-01T00:00:00"),
            (-62_135_596_801, "0001-01-01T00:00:00"),
        ])
    func secondsAreClamped(seconds: Int64, expected: String) {
        // Act
        let timestamp = Timestamp(secondsSinceEpoch: seconds)

        // Assert
        #expect(timestamp.naiveString == expected)
    }

    @Test("adding any number of seconds saturates at the ends of the range")
    func addingSaturates() {
        // Arrange
        let now = Timestamp(secondsSinceEpoch: 1_714_566_605)

        // Act and assert
        #expect(now.adding(seconds: .max) == .maximum)
        #expect(now.adding(seconds: .min) == .minimum)
        #expect(now.adding(seconds: 60).secondsSinceEpoch == 1_714_566_665)
    }

    @Test("dates that are NaN, infinite or far away are clamped")
    func datesAreClamped() {
        #expect(Timestamp(date: Date(timeIntervalSince1970: .infinity)) == .maximum)
        #expect(Timestamp(date: Date(timeIntervalSince1970: -.infinity)) == .minimum)
        #expect(Timestamp(date: Date(timeIntervalSince1970: .nan)).microsecondsSinceEpoch == 0)
        #expect(Timestamp(date: Date(timeIntervalSince1970: 1e300)) == .maximum)
    }

    @Test("any stored microsecond count formats without trapping", arguments: [Int64.min, Int64.max, -1, 0])
    func extremeMicrosecondsFormat(micros: Int64) {
        // Act
        let text = Timestamp(microsecondsSinceEpoch: micros).naiveString
        let object = SystemTimeObject(Timestamp(microsecondsSinceEpoch: micros))

        // Assert
        #expect(!text.isEmpty)
        #expect((0..<1_000_000_000).contains(object.nanosSinceEpoch))
    }

    @Test("a start_after object with extreme members is clamped, not a trap")
    func systemTimeObjectsAreClamped() throws {
        // Arrange
        let json = #"{"secs_since_epoch":9223372036854775807,"nanos_since_epoch":9223372036854775807}"#

        // Act
        let object = try JSONDecoder().decode(SystemTimeObject.self, from: Data(json.utf8))

        // Assert
        #expect(object.timestamp == .maximum)
    }
}
