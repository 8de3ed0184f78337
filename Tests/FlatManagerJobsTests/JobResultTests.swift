import FlatManagerCore
import FlatManagerStore
import Foundation
import Testing

@testable import FlatManagerJobs

/// Each job kind's result encodes to the JSON the jobs wrote as text before (server.md §3.8), refs in build order.
@Suite("Job results")
struct JobResultTests {
    static let refs = RefCommits([
        .init(ref: "runtime/org.test.Z/x86_64/stable", commit: "c1"),
        .init(ref: "app/org.test.A/x86_64/stable", commit: "c2"),
        .init(ref: "runtime/org.test.M.Locale/x86_64/stable", commit: "c3"),
    ])

    @Test("a commit result lists the refs in the order given, slashes unescaped")
    func commitResultKeepsOrder() throws {
        // Act
        let json = try JobResultEncoder.json(CommitResult(refs: Self.refs))

        // Assert
        #expect(
            json
                == #"{"refs":{"runtime/org.test.Z/x86_64/stable":"c1","app/org.test.A/x86_64/stable":"c2","#
                + #""runtime/org.test.M.Locale/x86_64/stable":"c3"}}"#)
    }

    @Test("a publish result has the refs, then the update-repo job")
    func publishResult() throws {
        // Act
        let json = try JobResultEncoder.json(PublishResult(refs: Self.refs, updateRepoJob: 42))

        // Assert
        #expect(
            json
                == #"{"refs":{"runtime/org.test.Z/x86_64/stable":"c1","app/org.test.A/x86_64/stable":"c2","#
                + #""runtime/org.test.M.Locale/x86_64/stable":"c3"},"update-repo-job":42}"#)
    }

    @Test("a publish of screenshots only has an empty refs object")
    func publishResultWithoutRefs() throws {
        #expect(
            try JobResultEncoder.json(PublishResult(refs: RefCommits(), updateRepoJob: 7))
                == #"{"refs":{},"update-repo-job":7}"#)
    }

    @Test("a republish result names the update-repo job")
    func republishResult() throws {
        #expect(try JobResultEncoder.json(RepublishResult(updateRepoJob: 9)) == #"{"update-repo-job":9}"#)
    }

    @Test("update-repo and check results are empty objects")
    func emptyResults() throws {
        #expect(try JobResultEncoder.json(UpdateRepoResult()) == "{}")
        #expect(try JobResultEncoder.json(CheckResult()) == "{}")
    }

    @Test("a prune result says that it pruned")
    func pruneResult() throws {
        #expect(try JobResultEncoder.json(PruneResult()) == #"{"pruned":true}"#)
    }

    @Test("strings are escaped as JSONText escapes them")
    func escaping() throws {
        // Arrange
        let odd = "a\"b\\c\nd\u{1}é/"
        let refs = RefCommits([.init(ref: odd, commit: odd)])

        // Act
        let json = try JobResultEncoder.json(CommitResult(refs: refs))

        // Assert
        #expect(json == "{\"refs\":{\(JSONText.string(odd)):\(JSONText.string(odd))}}")
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: String]]
        #expect(decoded?["refs"]?[odd] == odd)
    }

    @Test("a commit job stores its refs in build-ref order in the job's results")
    func commitJobStoresOrderedResults() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let names = [
            "runtime/org.test.Hello.Locale/x86_64/stable", "app/org.test.Hello/x86_64/stable",
            "runtime/org.test.Hello.Debug/x86_64/stable",
        ]
        let build = try await harness.makeBuild(refs: names)
        guard
            case .done(let job) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        else {
            Issue.record("commit refused")
            return
        }

        // Act
        try await harness.drain(.global)

        // Assert
        let finished = try #require(try await harness.store.job(id: job.id))
        let buildDir = "\(harness.config.buildRepoBase)/\(build.id)"
        let commit = String(repeating: buildDir.count % 2 == 0 ? "c" : "d", count: 64)
        let members = names.map { "\"\($0)\":\"\(commit)\"" }.joined(separator: ",")
        #expect(finished.results == "{\"refs\":{\(members)}}")
    }

    @Test("a failed job stores the error-message object and logs the error text")
    func failureIsStoredAsBefore() async throws {
        // Arrange
        let harness = try await JobHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.makeBuild(refs: [])
        guard
            case .done(let job) = try await harness.store.beginCommit(
                buildID: build.id,
                contents: .commit(build: build.id, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
        else {
            Issue.record("commit refused")
            return
        }

        // Act
        try await harness.drain(.global)

        // Assert
        let finished = try #require(try await harness.store.job(id: job.id))
        #expect(finished.status == .broken)
        #expect(finished.results == #"{"error-message":"No refs in build"}"#)
        #expect(finished.log.hasSuffix("Job failed: No refs in build\n"))
    }
}
