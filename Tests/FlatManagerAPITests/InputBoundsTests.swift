import Foundation
import Hummingbird
import Testing

@testable import FlatManagerAPI

/// Header and body values at and beyond the bounds of the integers they are read into: each is refused or
/// ignored, never a trap (issue #10).
@Suite("Input at the bounds of its types")
struct InputBoundsTests {
    @Test(
        "dates whose year or day does not fit the grammar are ignored instead of overflowing",
        arguments: [
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT", "Sun Nov  6 08:49:37 9223372036854775807",
            "Sun, 06 Nov 99999 08:49:37 GMT", "Sun, 06 Nov 199 08:49:37 GMT",
            "Sun, 9223372036854775807 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ])
    func outOfGrammarDatesAreIgnored(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test("the latest and earliest four-digit years still parse")
    func fourDigitYearsParse() {
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") == 253_402_300_799)
        #expect(HTTPDate.parse("Mon, 01 Jan 0001 00:00:00 GMT") == -62_135_596_800)
    }

    @Test("ranges with Int64-sized numbers are served whole, in part or refused, never overflowing")
    func extremeRanges() {
        #expect(ByteRange.parse("bytes=-9223372036854775807", size: 10) == .part(0..<10))
        #expect(ByteRange.parse("bytes=0-9223372036854775807", size: 10) == .part(0..<10))
        #expect(ByteRange.parse("bytes=9223372036854775807-", size: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-9223372036854775808", size: 10) == .whole)
        #expect(ByteRange.parse("bytes=9223372036854775806-9223372036854775807", size: 10) == .unsatisfiable)
    }

    @Test(
        "a JSON body carrying an escaped NUL is recognised, other escapes are not",
        arguments: [
            (#"{"a":"\u0000"}"#, true), (#"{"a":"x\u0000y"}"#, true), (#"{"a":"\\u0000"}"#, false),
            (#"{"a":"\\\u0000"}"#, true), (#"{"a":"\u00001"}"#, true), (#"{"a":"\u0001"}"#, false),
            (#"{"a":"\u000"}"#, false), (#"{"a":"\"#, false), ("", false),
        ])
    func escapedNULIsFound(json: String, found: Bool) {
        #expect(Request.containsEscapedNUL(Data(json.utf8)) == found)
    }
}
