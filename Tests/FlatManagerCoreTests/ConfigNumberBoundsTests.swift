import FlatManagerCore
import Testing

/// Config numbers are input too (issue #10): a value beyond what its use can hold is a start-up error naming the
/// key, never a trap later (e.g. `delay-update-secs` added to now, timeouts handed to `Task.sleep`).
@Suite("Config numbers at the bounds")
struct ConfigNumberBoundsTests {
    static let topKeys = [
        "port", "delay-update-secs", "local-delta-threads", "workers", "commit-workers", "delta-timeout-secs",
        "shutdown-timeout-secs", "job-shutdown-timeout-secs",
    ]
    static let repoKeys = ["default-token-type", "appstream-delta-depth"]
    static let extremes = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616", "1e308", "-1",
        "1.5", "\"10\"",
    ]

    @Test(
        "an extreme value of a top-level number is refused naming the key",
        arguments: topKeys, extremes)
    func extremeTopLevelNumbersAreRefused(key: String, value: String) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: #", "\#(key)": \#(value)"#))

        // Assert
        #expect(error?.key == key, "\(key): \(value) gave \(String(describing: error))")
    }

    @Test(
        "an extreme value of a repository number is refused naming the key",
        arguments: repoKeys, extremes.filter { $0 != "-1" })
    func extremeRepositoryNumbersAreRefused(key: String, value: String) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraRepo: #", "\#(key)": \#(value)"#))

        // Assert
        #expect(error?.key == "repos.stable.\(key)", "\(key): \(value) gave \(String(describing: error))")
    }
}
