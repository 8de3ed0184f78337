import Foundation
import TestSupport
import Testing

/// `push --commit` through a proxy that resets connections, answers 5xx and loses the server's answers at random:
/// the push completes, the committed build repo passes `ostree fsck`, and the server saw `POST commit` once.
@Suite("Client under injected faults", .enabled(if: TestEnvironment.hasOSTree))
struct ClientFaultInjectionTests {
    /// Short waits between retries and polls; small batches, so that many upload requests meet faults. A generous
    /// retry budget: under the whole suite on two cores one request's attempts can take minutes, and running out of
    /// budget is not what this test is about.
    static let environment = [
        "FLAT_MANAGER_CLIENT_RETRY_CAP": "0.05", "FLAT_MANAGER_CLIENT_RETRY_BUDGET": "900",
        "FLAT_MANAGER_CLIENT_POLL_SCALE": "0.05", "FLAT_MANAGER_CLIENT_BATCH_BYTES": "32768",
        "FLAT_MANAGER_CLIENT_BATCH_COUNT": "4",
    ]

    @Test(
        "a push through a faulty network completes, verifies and commits exactly once",
        arguments: [
            (UInt64(1), ClientFaultProxy.Fault.replaceAnswerWith502), (2, .dropAnswer), (3, .resetBeforeForwarding),
            (4, .serviceUnavailable),
        ])
    func pushThroughFaultsCompletesAndCommitsOnce(seed: UInt64, commitFault: ClientFaultProxy.Fault) async throws {
        // Arrange
        try await withTestServer(database: .sqlite) { server in
            let direct = try Client(token: server.adminToken)
            let buildURL = try await direct.createBuild(managerURL: server.managerURL)
            let buildID = try #require(buildURL.split(separator: "/").last.map(String.init))
            let fixture = try await FixtureRepo.shared.repository(version: "1")
            // Besides the random faults, the first commit request surely meets `commitFault`.
            let rates = ClientFaultProxy.Rates(first: ["/commit": commitFault])
            let proxy = try ClientFaultProxy(upstreamPort: server.port, seed: seed, rates: rates)
            defer { proxy.stop() }
            let faulty = try Client(token: server.adminToken, environment: Self.environment)

            // Act
            let push = try await faulty.run([
                "push", "--commit", "--parallel", "3", proxy.proxied(buildURL), fixture.path,
            ])

            // Assert
            #expect(push.status == 0, "stdout:\n\(push.stdout)\nstderr:\n\(push.stderr)")
            let injected = proxy.injected.values.reduce(0, +)
            #expect(injected > 1, "the proxy injected no random fault; the test proves little")
            let commits = proxy.forwarded.filter { $0 == "POST /api/v1/build/\(buildID)/commit" }
            #expect(commits.count == 1, "\(proxy.forwarded)")
            let build = try await HTTP.request("GET", server.url("/api/v1/build/\(buildID)"), token: server.adminToken)
            let state = (try JSONSerialization.jsonObject(with: build.body) as? [String: Any])?["repo_state"] as? Int
            #expect(state == 2, "repo_state \(String(describing: state)): \(build.text)")
            let ostree = try #require(TestEnvironment.executable(named: "ostree"))
            let fsck = try await ProcessRunner.run(
                ostree, ["fsck", "--repo=\(server.buildRepoBase.appendingPathComponent(buildID).path)"])
            #expect(fsck.status == 0, "\(fsck.stdout)\n\(fsck.stderr)")
        }
    }
}
