import FlatManagerCore
import Foundation
import Testing

/// Encodes a value and decodes it as a JSON object, to look at its members.
func jsonObject(_ value: some Encodable) throws -> [String: Any] {
    let data = try JSONEncoder().encode(value)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

@Suite("Job")
struct JobTests {
    static let log = "Résumé ✓ done\n日本語\n"

    @Test func aLogCutAtAByteOffsetNeverSplitsACharacter() {
        let job = Job(id: 1, kind: .commit, contents: "{}", log: Self.log)
        let utf8 = Array(Self.log.utf8)

        for offset in 0...utf8.count + 2 {
            let cut = job.withLog(fromByteOffset: offset).log
            let cutBytes = Array(cut.utf8)
            // The rest is a suffix of the original bytes that starts at or after the offset, at a character start.
            #expect(Self.log.hasSuffix(cut))
            #expect(cutBytes.count <= max(0, utf8.count - offset))
            #expect(cutBytes.first.map { $0 & 0xC0 != 0x80 } ?? true)
        }
    }

    @Test func anOffsetInsideACharacterMovesToTheNextCharacter() {
        let job = Job(id: 1, kind: .commit, contents: "{}", log: "é!")

        #expect(job.withLog(fromByteOffset: 1).log == "!")
        #expect(job.withLog(fromByteOffset: 2).log == "!")
    }

    @Test func aNilOrZeroOffsetKeepsTheWholeLog() {
        let job = Job(id: 1, kind: .commit, contents: "{}", log: Self.log)

        #expect(job.withLog(fromByteOffset: nil).log == Self.log)
        #expect(job.withLog(fromByteOffset: 0).log == Self.log)
        #expect(job.withLog(fromByteOffset: -5).log == Self.log)
    }

    @Test func anOffsetPastTheEndGivesAnEmptyLog() {
        let job = Job(id: 1, kind: .commit, contents: "{}", log: Self.log)

        #expect(job.withLog(fromByteOffset: Self.log.utf8.count).log == "")
        #expect(job.withLog(fromByteOffset: 10_000).log == "")
    }

    @Test func unsetResultsAreOmittedNotNull() throws {
        let job = Job(id: 9, kind: .updateRepo, contents: #"{"repo":"stable"}"#, repo: "stable")

        let object = try jsonObject(job)

        #expect(object["results"] == nil)
        #expect(object["start_after"] is NSNull)
        #expect(Set(object.keys) == ["id", "kind", "status", "contents", "log", "start_after", "repo"])
    }

    @Test func startAfterIsAnObjectAndRoundTrips() throws {
        let job = Job(
            id: 9, kind: .updateRepo, status: .new, contents: "{}", results: "{}", log: "",
            startAfter: Timestamp(microsecondsSinceEpoch: 1_714_566_610_512_000), repo: "stable")

        let object = try jsonObject(job)
        let decoded = try JSONDecoder().decode(Job.self, from: try JSONEncoder().encode(job))

        let startAfter = try #require(object["start_after"] as? [String: Any])
        #expect(startAfter["secs_since_epoch"] as? Int == 1_714_566_610)
        #expect(startAfter["nanos_since_epoch"] as? Int == 512_000_000)
        #expect(object["kind"] as? Int == 2)
        #expect(object["status"] as? Int == 0)
        #expect(decoded == job)
    }

    @Test func theSpecsFinishedCommitJobDecodes() throws {
        let json = #"""
            {"id":101,"kind":0,"status":2,
             "contents":"{\"build\":42,\"endoflife\":null,\"endoflife_rebase\":null,\"token_type\":null}",
             "results":"{\"refs\":{}}","log":"Committing\n","start_after":null,"repo":null}
            """#

        let job = try JSONDecoder().decode(Job.self, from: Data(json.utf8))

        #expect(job.status == .ended)
        #expect(job.kind == .commit)
        #expect(job.results == #"{"refs":{}}"#)
        #expect(job.startAfter == nil)
        #expect(
            JobContents(kind: job.kind, json: job.contents)
                == .commit(build: 42, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil))
    }
}

@Suite("Build JSON")
struct BuildJSONTests {
    @Test func reasonsAndJobIDsAreOmittedWhileOtherOptionalsAreNull() throws {
        let build = Build(id: 42, created: Timestamp(secondsSinceEpoch: 1_714_566_605), repo: "stable")

        let object = try jsonObject(build)

        #expect(object["repo_state_reason"] == nil)
        #expect(object["published_state_reason"] == nil)
        #expect(object["commit_job_id"] == nil)
        #expect(object["publish_job_id"] == nil)
        #expect(object["app_id"] is NSNull)
        #expect(object["build_log_url"] is NSNull)
        #expect(object["token_name"] is NSNull)
        #expect(object["created"] as? String == "2024-05-01T12:30:05")
        #expect(object["extra_ids"] as? [String] == [])
        #expect(object["repo_state"] as? Int == 0)
    }

    @Test func aFullBuildRoundTrips() throws {
        let build = Build(
            id: 42, created: Timestamp(microsecondsSinceEpoch: 1_714_566_605_123_456), repoState: .failed,
            repoStateReason: "broken", publishedState: .published, publishedStateReason: "why", commitJobID: 101,
            publishJobID: 102, repo: "stable", extraIDs: ["org.example.Extra"], appID: "org.example.App",
            publicDownload: false, buildLogURL: "https://ci/log", tokenName: "default", tokenType: "app",
            tokenBranches: ["stable"])

        let object = try jsonObject(build)
        let decoded = try JSONDecoder().decode(Build.self, from: try JSONEncoder().encode(build))

        #expect(object["repo_state_reason"] as? String == "broken")
        #expect(object["commit_job_id"] as? Int == 101)
        #expect(decoded == build)
    }

    @Test func aBuildRefHasAllFiveMembers() throws {
        let ref = BuildRef(id: 7, buildID: 42, refName: "app/org.example.App/x86_64/stable", commit: "abc")

        let object = try jsonObject(ref)

        #expect(Set(object.keys) == ["id", "build_id", "ref_name", "commit", "build_log_url"])
        #expect(object["build_log_url"] is NSNull)
    }

    @Test func aCheckAlwaysHasReasonAndResults() throws {
        let check = Check(checkName: "lint", buildID: 42, jobID: 103, status: .reviewRequired("needs review"))

        let object = try jsonObject(check)
        let decoded = try JSONDecoder().decode(Check.self, from: try JSONEncoder().encode(check))

        #expect(object["status"] as? Int == 4)
        #expect(object["status_reason"] as? String == "needs review")
        #expect(object["results"] is NSNull)
        #expect(decoded == check)
    }
}

@Suite("JobContents")
struct JobContentsTests {
    @Test(arguments: [
        JobContents.commit(build: 42, endOfLife: "old", endOfLifeRebase: "org.new", tokenType: 1),
        .commit(build: 42, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil),
        .publish(build: 42),
        .updateRepo(repo: "stable"),
        .republish(app: "org.example.App", endOfLife: nil, endOfLifeRebase: "org.x"),
        .check(build: 42, name: "lint \"quoted\""),
        .prune,
    ])
    func contentsRoundTripThroughTheirJSON(_ contents: JobContents) {
        #expect(JobContents(kind: contents.kind, json: contents.json) == contents)
    }

    @Test func commitContentsUseUpstreamsSortedKeys() {
        let contents = JobContents.commit(build: 42, endOfLife: nil, endOfLifeRebase: nil, tokenType: nil)

        #expect(contents.json == #"{"build":42,"endoflife":null,"endoflife_rebase":null,"token_type":null}"#)
    }

    @Test func contentsWithoutTheKindsRequiredKeysGiveNil() {
        #expect(JobContents(kind: .commit, json: #"{"repo":"stable"}"#) == nil)
        #expect(JobContents(kind: .check, json: #"{"build":1}"#) == nil)
        #expect(JobContents(kind: .publish, json: "not json") == nil)
    }

    @Test func unknownKeysAreIgnored() {
        #expect(JobContents(kind: .publish, json: #"{"build":3,"extra":true}"#) == .publish(build: 3))
    }
}
