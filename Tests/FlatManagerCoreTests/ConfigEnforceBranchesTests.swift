import FlatManagerCore
import Testing

/// The opt-in `enforce-branches` key: off unless set, a boolean only.
@Suite("Config enforce-branches")
struct ConfigEnforceBranchesTests {
    @Test("enforce-branches is off by default and read when set")
    func defaultAndSet() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let plain = try fixture.parse(ConfigFixture.minimal())
        let enabled = try fixture.parse(ConfigFixture.minimal(extraTop: #", "enforce-branches": true"#))

        // Assert
        #expect(plain.enforceBranches == false)
        #expect(enabled.enforceBranches == true)
    }

    @Test("enforce-branches must be a boolean")
    func mustBeBoolean() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: #", "enforce-branches": "yes""#))

        // Assert
        #expect(error?.key == "enforce-branches")
    }
}
