import FlatManagerCore
import Testing

/// Our reliability keys, `job-max-resumes` (how often an interrupted job is resumed) and
/// `failed-build-retention-hours` (when the sweep removes a failed or purged build's directory): defaulted when
/// absent, read when set, strict about type and range like every other key.
@Suite("Config resume and cleanup keys")
struct ConfigResumeTests {
    @Test("Without the keys, a job is resumed 3 times and failed builds are kept 24 hours")
    func defaults() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let config = try fixture.parse(ConfigFixture.minimal())

        // Assert
        #expect(config.jobMaxResumes == 3)
        #expect(config.failedBuildRetentionHours == 24)
    }

    @Test("Both keys are read when set, zero included")
    func setValues() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let keys = #", "job-max-resumes": 0, "failed-build-retention-hours": 2"#

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: keys))

        // Assert
        #expect(config.jobMaxResumes == 0)
        #expect(config.failedBuildRetentionHours == 2)
    }

    /// A value a key must refuse.
    struct Refused: Sendable, CustomTestStringConvertible {
        var key: String
        var value: String
        var testDescription: String { "\(key): \(value)" }
    }

    static let refused: [Refused] =
        ["-1", "\"3\"", "1.5", "null", "true", "1001"].map { Refused(key: "job-max-resumes", value: $0) }
        + ["-1", "\"24\"", "0.5", "null", "false", "87601"].map {
            Refused(key: "failed-build-retention-hours", value: $0)
        }

    @Test("A negative, fractional, too large or non-integer value is refused naming the key", arguments: refused)
    func refusedValues(_ example: Refused) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: ", \"\(example.key)\": \(example.value)"))

        // Assert
        #expect(error?.key == example.key)
    }
}
