import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Runs `flat-manager-client` as a process with fast retries and polls, and builds the JSON bodies the scripted
/// server (`FakeServer`) answers with; shared by the client's command-line suites.
enum ClientRun {
    /// Fast retries and polls, so scripted failures do not make the tests slow.
    static let fast = [
        "FLAT_MANAGER_CLIENT_RETRY_CAP": "0.01", "FLAT_MANAGER_CLIENT_RETRY_BUDGET": "3",
        "FLAT_MANAGER_CLIENT_POLL_SCALE": "0.01",
    ]

    static func client(_ arguments: [String], environment: [String: String] = [:]) throws -> BinarySupport.Outcome {
        try BinarySupport.run("flat-manager-client", arguments, environment: fast.merging(environment) { $1 })
    }

    /// The JSON object written with `--output`.
    static func output(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func temporaryFile() -> String { NSTemporaryDirectory() + "client-output-" + UUID().uuidString }

    static func job(status: Int, log: String, results: String? = nil) -> String {
        let resultsMember = results.map { #","results":\#(JSONText.string($0))"# } ?? ""
        return
            #"{"id":7,"kind":0,"status":\#(status),"contents":"{}","log":\#(JSONText.string(log)),"start_after":null,"repo":null\#(resultsMember)}"#
    }

    /// A build as the server encodes it (Core's `Build`), created at the epoch in repo `stable`.
    static func build(id: Int32, repoState: RepoState, commitJobID: Int32? = nil) throws -> String {
        let build = Build(
            id: id, created: Timestamp(secondsSinceEpoch: 0), repoState: repoState, commitJobID: commitJobID,
            repo: "stable")
        return String(decoding: try JSONEncoder().encode(build), as: UTF8.self)
    }
}
