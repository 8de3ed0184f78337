import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// Issue #14: `kill -9` of the server at random (seeded) points of push, commit, publish and update-repo. After
/// each restart the interrupted work resumes, and in the end every build is where an uninterrupted run puts it
/// (Ready and Published, no job broken), `ostree fsck` is clean, every published ref has exactly one commit per
/// publish, and a flatpak user installs and updates the result.
///
/// `FLAT_MANAGER_CRASH_CYCLES` sets the number of cycles (default 10: one kill in each phase per cycle, so 10 kills
/// per phase), `FLAT_MANAGER_CRASH_SEED` the seed; scripts/crash-cycles.sh runs hundreds.
@Suite("Crash cycles", .enabled(if: TestEnvironment.hasOSTree))
struct CrashCycleTests {
    static let environment = ProcessInfo.processInfo.environment
    static let cycles = environment["FLAT_MANAGER_CRASH_CYCLES"].flatMap { Int($0) } ?? 10
    static let seed = environment["FLAT_MANAGER_CRASH_SEED"].flatMap { UInt64($0) } ?? 14

    /// The fixture version a cycle publishes: alternating, so that each update changes what the app prints.
    static func version(ofCycle cycle: Int) -> String { cycle % 2 == 0 ? "1" : "2" }

    @Test(
        "kill -9 during push, commit, publish and update-repo: every build ends Published with one commit per publish",
        arguments: TestEnvironment.databases)
    func crashCycles(database: DatabaseKind) async throws {
        // Arrange
        let server = try await TestServer(database: database)
        try await withServerOutputOnFailure(server) {
            let client = try Client(token: server.adminToken)
            let driver = CrashCycleDriver(server: server, client: client, token: server.adminToken)
            var random = SeededRandom(seed: Self.seed &+ (database == .postgres ? 1 : 0))
            var fixtures: [String: URL] = [:]
            for version in ["1", "2"] { fixtures[version] = try await FixtureRepo.shared.repository(version: version) }
            let user = try FlatpakUser()
            var builds: [String] = []
            var orphans = 0
            // Cycle 0 runs without a crash: it measures each phase, within which the later kills are placed.
            var durations: [CrashPhase: Duration] = [:]

            // Act
            for cycle in 0...Self.cycles {
                let fixture = try #require(fixtures[Self.version(ofCycle: cycle)])
                let buildURL = try await client.createBuild(managerURL: server.managerURL)
                builds.append(buildURL)
                for phase in CrashPhase.allCases {
                    let started = ContinuousClock.now
                    let work = Task { try await driver.run(phase, buildURL: buildURL, fixture: fixture) }
                    if cycle > 0 {
                        let budget = (durations[phase] ?? .seconds(1)).fractionalSeconds
                        try await Task.sleep(for: .seconds(random.nextUnit() * budget))
                        await server.kill()
                        orphans += await Orphans.kill(naming: server.directory.url.path)
                        try await server.start()
                    }
                    try await work.value
                    if cycle == 0 { durations[phase] = ContinuousClock.now - started }
                }
                if cycle == 0 {
                    try await user.remoteAdd(url: server.url("/repo/stable").absoluteString)
                    try await user.install(FixtureRepo.appID)
                }
            }
            try await user.update()
            let printed = try await user.run(FixtureRepo.appID)

            // Assert
            for buildURL in builds {
                let build = try await get(Build.self, buildURL, token: server.adminToken)
                #expect(build.repoState == .ready, "\(buildURL): \(build.repoStateReason ?? "")")
                #expect(build.publishedState == .published, "\(buildURL): \(build.publishedStateReason ?? "")")
                for job in ["/commit", "/publish"] {
                    let read = try await get(Job.self, buildURL + job, token: server.adminToken)
                    #expect(read.status == .ended, "\(buildURL)\(job): \(read.log)")
                }
            }
            let fsck = try await OSTreeTool.run(["fsck", "--repo=\(server.repoPath.path)"])
            #expect(fsck.succeeded, "ostree fsck: \(fsck.stdout)\(fsck.stderr)")
            let refs =
                try await OSTreeTool.refs(repo: server.repoPath, prefix: "app/")
                + OSTreeTool.refs(repo: server.repoPath, prefix: "runtime/")
            #expect(refs.contains { $0.hasPrefix("app/\(FixtureRepo.appID)/") }, "\(refs)")
            for ref in refs {
                let commits = try await OSTreeTool.historyLength(repo: server.repoPath, ref: ref)
                #expect(commits == builds.count, "\(ref) has \(commits) commits for \(builds.count) publishes")
            }
            #expect(printed == "Hello \(Self.version(ofCycle: Self.cycles))")
            let phases = CrashPhase.allCases.map { "\($0.rawValue) \(durations[$0] ?? .zero)" }.joined(separator: ", ")
            print(
                "crash cycles on \(database): \(Self.cycles) cycles, \(Self.cycles * 4) kills, \(orphans) orphans killed; "
                    + "uninterrupted phases: \(phases)")
        }
        await server.stop()
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    fileprivate var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
