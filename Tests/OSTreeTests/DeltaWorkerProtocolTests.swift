import Foundation
import OSTree
import Testing

@Suite("Delta worker protocol messages")
struct DeltaWorkerProtocolTests {
    static let to = String(repeating: "b", count: 64)

    @Test(
        "worker messages decode from upstream's externally tagged JSON",
        arguments: [
            (#"{"Register":{"capacity":4}}"#, DeltaWorkerMessage.register(capacity: 4)),
            (#""Unregister""#, .unregister),
            (#"{"Finished":{"id":17,"errmsg":null}}"#, .finished(id: 17, errmsg: nil)),
            (#"{"Finished":{"id":18,"errmsg":"pull failed"}}"#, .finished(id: 18, errmsg: "pull failed")),
        ])
    func workerMessagesDecode(json: String, expected: DeltaWorkerMessage) {
        // Act
        let decoded = DeltaWorkerJSON.decode(DeltaWorkerMessage.self, from: json)

        // Assert
        #expect(decoded == expected)
    }

    @Test("a successful Finished is encoded with an explicit null errmsg")
    func finishedEncodesNull() {
        // Act
        let text = DeltaWorkerJSON.encode(DeltaWorkerMessage.finished(id: 3, errmsg: nil))

        // Assert
        #expect(text == #"{"Finished":{"errmsg":null,"id":3}}"#)
    }

    @Test("RequestDelta is encoded as upstream sends it and decodes back")
    func requestDeltaRoundTrips() {
        // Arrange
        let assignment = DeltaAssignment(
            id: 1, url: "http://x/repo/stable", repo: "stable", delta: Delta(from: nil, to: Self.to))

        // Act
        let text = DeltaWorkerJSON.encode(assignment)
        let decoded = DeltaWorkerJSON.decode(DeltaAssignment.self, from: text)

        // Assert
        #expect(
            text
                == #"{"RequestDelta":{"delta":{"from":null,"to":"\#(Self.to)"},"id":1,"repo":"stable","url":"http://x/repo/stable"}}"#
        )
        #expect(decoded == assignment)
    }

    @Test("unknown or malformed worker messages do not decode", arguments: [#""Hello""#, #"{"Nope":{}}"#, "{", "[]"])
    func malformedMessagesAreRejected(json: String) {
        // Act / Assert
        #expect(DeltaWorkerJSON.decode(DeltaWorkerMessage.self, from: json) == nil)
    }
}
