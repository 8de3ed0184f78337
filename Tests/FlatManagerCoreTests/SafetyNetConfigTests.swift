import FlatManagerCore
import Foundation
import Testing

/// The opt-in per-repo keys `downgrade-protection` and `metadata-lint`: off unless set, booleans only.
@Suite("Config safety net keys")
struct SafetyNetConfigTests {
    @Test("downgrade-protection and metadata-lint are off by default and read when set")
    func defaultAndSet() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let plain = try fixture.parse(ConfigFixture.minimal())
        let enabled = try fixture.parse(
            ConfigFixture.minimal(extraRepo: #", "downgrade-protection": true, "metadata-lint": true"#))

        // Assert
        #expect(plain.repos["stable"]?.downgradeProtection == false)
        #expect(plain.repos["stable"]?.metadataLint == false)
        #expect(enabled.repos["stable"]?.downgradeProtection == true)
        #expect(enabled.repos["stable"]?.metadataLint == true)
    }

    @Test("each key must be a boolean", arguments: ["downgrade-protection", "metadata-lint"])
    func mustBeBoolean(key: String) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraRepo: #", "\#(key)": "yes""#))

        // Assert
        #expect(error?.key == "repos.stable.\(key)")
        #expect(error?.message == "expected true or false")
    }
}

/// The publish job's `allow_downgrade` member: written only when set, read back, absent reads as false.
@Suite("JobContents publish allow-downgrade")
struct PublishContentsTests {
    @Test("a plain publish keeps upstream's contents and an allowing one round-trips")
    func roundTrip() throws {
        // Arrange
        let plain = JobContents.publish(build: 7)
        let allowing = JobContents.publish(build: 7, allowDowngrade: true)

        // Act
        let plainBack = JobContents(kind: .publish, json: plain.json)
        let allowingBack = JobContents(kind: .publish, json: allowing.json)

        // Assert
        #expect(plain.json == #"{"build":7}"#)
        #expect(allowing.json == #"{"allow_downgrade":true,"build":7}"#)
        #expect(plainBack == plain)
        #expect(allowingBack == allowing)
        #expect(JobContents(kind: .publish, json: #"{"build":7,"allow_downgrade":false}"#) == plain)
    }

    @Test("the publish request reads allow-downgrade and nothing else")
    func publishRequest() throws {
        // Act
        let empty = try JSONDecoder().decode(PublishRequest.self, from: Data("{}".utf8))
        let allowing = try JSONDecoder().decode(
            PublishRequest.self, from: Data(#"{"allow-downgrade":true,"x":1}"#.utf8))

        // Assert
        #expect(empty.allowDowngrade == nil)
        #expect(allowing.allowDowngrade == true)
    }
}
