import FlatManagerCore
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import FlatManagerClient

/// Server answers read through Core's wire types, with the server's JSON kept for the output (issue #11 point 5).
@Suite("Server answers in Core's wire types")
struct DecodedTests {
    static func answer(_ body: String, status: Int = 200) -> HTTPAnswer {
        HTTPAnswer(status: status, headers: HTTPHeaders(), body: ByteBuffer(string: body))
    }

    @Test func aJobIsReadAsCoresJobAndPassedThroughMemberForMember() throws {
        // Arrange: a member Core's Job does not model must survive into the output.
        let body =
            #"{"id":7,"kind":1,"status":2,"contents":"{}","log":"done\n","start_after":null,"repo":"stable","#
            + #""results":"{\"update-repo-job\":9}","extra":[1,2]}"#

        // Act
        let job = try Self.answer(body).decode(Decoded<Job>.self, from: "http://h/api/v1/job/7")

        // Assert
        #expect(job.value.id == 7)
        #expect(job.value.kind == .publish)
        #expect(job.value.status == .ended)
        #expect(job.value.log == "done\n")
        #expect(PublishResults(of: job.value)?.updateRepoJob == 9)
        #expect(job.json == JSON(data: Data(body.utf8)))
        #expect(job.json["extra"] == .array([.integer(1), .integer(2)]))
    }

    @Test func anAnswerThatIsNotTheWireTypeIsAFinalJSONError() throws {
        // Arrange
        let answer = Self.answer(#"{"wanted":["a.commit"]}"#)

        // Act / Assert
        let error = #expect(throws: ClientError.self) {
            try answer.decode(MissingObjectsResponse.self, from: "http://h/api/v1/build/1/missing_objects")
        }
        guard case .exception(let type, let message)? = error else {
            Issue.record("expected an exception, got \(String(describing: error))")
            return
        }
        #expect(type == "json")
        #expect(message.hasPrefix("Unexpected answer from http://h/api/v1/build/1/missing_objects: "))
        #expect(error?.isTransient == false)
    }

    @Test func theExtendedBuildPairsEachCheckWithItsJSON() throws {
        // Arrange
        let build = try ClientRun.build(id: 42, repoState: .ready)
        let body =
            #"{"build":\#(build),"build_refs":[],"checks":["#
            + #"{"check_name":"a","build_id":42,"job_id":5,"status":1,"status_reason":null,"results":null},"#
            + #"{"check_name":"b","build_id":42,"job_id":6,"status":3,"status_reason":"bad","results":null}]}"#

        // Act
        let extended = try Self.answer(body).decode(Decoded<ExtendedBuild>.self, from: "http://h/extended")

        // Assert
        #expect(extended.value.build.repoState == .ready)
        #expect(extended.checks.map(\.check.checkName) == ["a", "b"])
        #expect(extended.checks.map { $0.json["check_name"] } == [.string("a"), .string("b")])
        #expect(extended.checks[1].check.status == .failed("bad"))
    }

    @Test func anErrorBodyIsReadForItsStateAndMessage() {
        // Arrange
        let details = JSON(
            data: Data(
                #"{"status":400,"error-type":"wrong-published-state","message":"x","current-state":"published"}"#
                    .utf8))

        // Act
        let body = details.flatMap(ErrorBody.init(details:))

        // Assert
        #expect(body?.currentState == "published")
        #expect(body?.message == "x")
        #expect(ErrorBody(details: .string("teapot")) == nil)
    }

    @Test func aJobWithoutResultsHasNoPublishResults() {
        // Arrange
        let job = Job(id: 1, kind: .publish, status: .ended, contents: "{}")

        // Act / Assert
        #expect(PublishResults(of: job) == nil)
    }
}
