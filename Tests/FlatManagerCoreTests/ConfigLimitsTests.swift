import FlatManagerCore
import Testing

/// Our connection timeouts and upload limits (`http-header-timeout-secs`, `http-idle-timeout-secs`,
/// `max-build-bytes`, `max-object-bytes`, `max-build-refs`): defaulted or absent, read when set, strict like every
/// other key.
@Suite("Config limits")
struct ConfigLimitsTests {
    @Test("Without the keys, both timeouts are a minute and uploads are unlimited")
    func defaults() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let config = try fixture.parse(ConfigFixture.minimal())

        // Assert
        #expect(config.httpHeaderTimeoutSecs == 60)
        #expect(config.httpIdleTimeoutSecs == 60)
        #expect(config.maxBuildBytes == nil)
        #expect(config.maxObjectBytes == nil)
        #expect(config.maxBuildRefs == nil)
    }

    @Test("Every key is read when set, up to the largest 64-bit byte count")
    func setValues() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let keys =
            #", "http-header-timeout-secs": 0, "http-idle-timeout-secs": 5, "max-build-bytes": 9223372036854775807"#
            + #", "max-object-bytes": 1048576, "max-build-refs": 20"#

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: keys))

        // Assert
        #expect(config.httpHeaderTimeoutSecs == 0)
        #expect(config.httpIdleTimeoutSecs == 5)
        #expect(config.maxBuildBytes == Int64.max)
        #expect(config.maxObjectBytes == 1_048_576)
        #expect(config.maxBuildRefs == 20)
    }

    /// A value a key must refuse.
    struct Refused: Sendable, CustomTestStringConvertible {
        var key: String
        var value: String
        var testDescription: String { "\(key): \(value)" }
    }

    static let refused: [Refused] =
        ["http-header-timeout-secs", "http-idle-timeout-secs"].flatMap { key in
            ["-1", "\"60\"", "1.5", "null", "4294967296"].map { Refused(key: key, value: $0) }
        }
        + ["max-build-bytes", "max-object-bytes", "max-build-refs"].flatMap { key in
            ["0", "-1", "\"1\"", "1.5", "9223372036854775808"].map { Refused(key: key, value: $0) }
        }

    @Test(
        "A zero limit, a negative, fractional, out-of-range or non-integer value is refused naming the key",
        arguments: refused)
    func refusedValues(_ example: Refused) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: ", \"\(example.key)\": \(example.value)"))

        // Assert
        #expect(error?.key == example.key)
    }
}
