import FlatManagerCore
import Testing

/// Our shutdown bounds, `shutdown-timeout-secs` (in-flight HTTP requests) and `job-shutdown-timeout-secs` (running
/// jobs): defaulted when absent, read when set, strict about type and range like every other key.
@Suite("Config shutdown bounds")
struct ConfigShutdownTests {
    @Test("Without the keys, requests get 30 s and jobs an hour")
    func defaults() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let config = try fixture.parse(ConfigFixture.minimal())

        // Assert
        #expect(config.shutdownTimeoutSecs == 30)
        #expect(config.jobShutdownTimeoutSecs == 3600)
    }

    @Test("Both keys are read when set, zero included")
    func setValues() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let keys = #", "shutdown-timeout-secs": 2, "job-shutdown-timeout-secs": 0"#

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: keys))

        // Assert
        #expect(config.shutdownTimeoutSecs == 2)
        #expect(config.jobShutdownTimeoutSecs == 0)
    }

    /// A value each key must refuse.
    struct Refused: Sendable, CustomTestStringConvertible {
        var key: String
        var value: String
        var testDescription: String { "\(key): \(value)" }
    }

    static let refused: [Refused] = ["shutdown-timeout-secs", "job-shutdown-timeout-secs"].flatMap { key in
        ["-1", "\"30\"", "1.5", "null", "true", "4294967296"].map { Refused(key: key, value: $0) }
    }

    @Test("A negative, fractional, huge or non-integer bound is refused naming the key", arguments: refused)
    func refusedValues(_ example: Refused) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: ", \"\(example.key)\": \(example.value)"))

        // Assert
        #expect(error?.key == example.key)
    }
}
