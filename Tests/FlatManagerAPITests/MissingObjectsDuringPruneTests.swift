import CompressNIO
import FlatManagerAPI
import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("missing_objects while a prune runs")
struct MissingObjectsDuringPruneTests {
    @Test("objects of the main repo count as missing while its prune job runs, and as present after")
    func mainRepoObjectsAreNotTrustedDuringPrune() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let buildDir = "\(harness.config.buildRepoBase)/\(build.id)"
        let mainRepo = harness.config.repos["stable"]?.path ?? ""
        try FileManager.default.createDirectory(atPath: buildDir + "/upload", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: buildDir + "/parent", withDestinationPath: mainRepo)
        let object = String(repeating: "c", count: 64) + ".filez"
        try FileManager.default.createDirectory(atPath: mainRepo + "/objects/cc", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: mainRepo + "/objects/cc/" + object.dropFirst(2), contents: Data())
        let prune = try await harness.store.createJob(kind: .prune, contents: .prune, repo: "stable", startAfter: nil)
        _ = try await harness.store.claimNextJob(
            queue: .repo("stable"), owner: "test:1:1", leaseSeconds: 60, allowConcurrent: false)
        let token = harness.token()
        let body = ByteBuffer(string: #"{"wanted":["\#(object)"]}"#)
        let ask: @Sendable (any TestClientProtocol) async throws -> [String] = { client in
            let response = try await client.execute(
                uri: "/api/v1/build/\(build.id)/missing_objects", method: .get, headers: .bearer(token), body: body)
            return try response.decode(MissingObjectsResponse.self).missing
        }

        let duringPrune = try await harness.test(ask)
        try await harness.store.finishJob(id: prune.id, status: .ended, results: "{}")
        let afterPrune = try await harness.test(ask)

        #expect(duringPrune == [object])
        #expect(afterPrune == [])
    }
}
