import FlatManagerCore
import Testing

/// A repo's `retention` (issue #15 part 3): absent by default, read when set, strict about type and range.
@Suite("Config retention")
struct ConfigRetentionTests {
    @Test("without the key a repo has no retention")
    func absentByDefault() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let config = try fixture.parse(ConfigFixture.minimal())

        // Assert
        #expect(config.repos["stable"]?.retention == nil)
    }

    @Test("keep-commits and a fractional prune-every-hours are read; the depth keeps that many commits")
    func readWhenSet() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let repo = #", "retention": {"keep-commits": 2, "prune-every-hours": 0.001}"#

        // Act
        let retention = try fixture.parse(ConfigFixture.minimal(extraRepo: repo)).repos["stable"]?.retention

        // Assert
        #expect(retention == RetentionConfig(keepCommits: 2, pruneEveryHours: 0.001))
        #expect(retention?.pruneDepth == 1)
        #expect(retention?.intervalSeconds == 4)
    }

    static let refused = [
        #"{"keep-commits": 0, "prune-every-hours": 1}"#,
        #"{"keep-commits": 1.5, "prune-every-hours": 1}"#,
        #"{"keep-commits": "2", "prune-every-hours": 1}"#,
        #"{"keep-commits": 2, "prune-every-hours": 0}"#,
        #"{"keep-commits": 2, "prune-every-hours": -1}"#,
        #"{"keep-commits": 2, "prune-every-hours": "1"}"#,
        #"{"keep-commits": 2, "prune-every-hours": 1e300}"#,
        #"{"keep-commits": 2}"#,
        #"{"keep-commits": 2, "prune-every-hours": 1, "depth": 3}"#,
        #"[]"#,
    ]

    @Test("a missing, out-of-range, mistyped or unknown member is refused naming the retention key", arguments: refused)
    func refusedValues(_ value: String) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraRepo: ", \"retention\": \(value)"))

        // Assert
        #expect(error?.key.contains("retention") == true, "\(String(describing: error))")
    }

    @Test("a rollback job's contents survive the round trip through the jobs table")
    func rollbackContentsRoundTrip() {
        // Arrange
        let contents = JobContents.rollback(
            ref: "app/org.test.A/x86_64/stable", commit: String(repeating: "a", count: 64))

        // Act
        let parsed = JobContents(kind: .rollback, json: contents.json)

        // Assert
        #expect(parsed == contents)
        #expect(contents.kind == .rollback)
        #expect(JobKind.rollback.rawValue == 100)
        #expect(JobKind.rollback.runsOnRepoQueue)
        #expect(JobContents(kind: .rollback, json: "{}") == nil)
    }
}
