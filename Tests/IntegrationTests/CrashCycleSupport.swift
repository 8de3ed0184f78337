import FlatManagerCore
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The four phases of a build a crash-cycle run interrupts, and how each is driven to its end through a crash:
/// every operation tolerates a server that vanishes and comes back, and repeats the request the crash may have
/// swallowed, as a CI script would.
enum CrashPhase: String, CaseIterable, Sendable {
    case push, commit, publish
    case updateRepo = "update-repo"
}

/// Drives one build of a crash-cycle run through its phases against `server`.
struct CrashCycleDriver: Sendable {
    let server: TestServer
    let client: Client
    let token: String
    /// How long one phase may take, crashes included.
    static let phaseDeadline = Duration.seconds(180)

    /// Runs `phase` of the build to its end.
    func run(_ phase: CrashPhase, buildURL: String, fixture: URL) async throws {
        switch phase {
        case .push:
            try await push(buildURL: buildURL, fixture: fixture)
        case .commit:
            try await advance(buildURL: buildURL, request: "/commit", body: CommitRequest()) { build in
                switch build.repoState {
                case .uploading: return .request
                case .ready: return .done
                case .failed, .purging, .purged, .validating:
                    throw TestSupportError.unexpected("build \(buildURL) is \(build.repoState.name) after commit")
                case .committing: return .wait
                }
            }
        case .publish:
            try await advance(buildURL: buildURL, request: "/publish", body: [String: String]()) { build in
                switch build.publishedState {
                case .unpublished: return .request
                case .published: return .done
                case .failed:
                    throw TestSupportError.unexpected(
                        "build \(buildURL) publish failed: \(build.publishedStateReason ?? "")")
                case .publishing: return .wait
                }
            }
        case .updateRepo:
            try await waitForUpdate(buildURL: buildURL)
        }
    }

    /// `flatpak-manager push`, again after a crash cut it off (the client retries by itself for a while).
    func push(buildURL: String, fixture: URL) async throws {
        let deadline = ContinuousClock.now + Self.phaseDeadline
        while true {
            let result = try await client.run(["push", buildURL, fixture.path])
            if result.succeeded { return }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError.unexpected("push never succeeded: \(result.stderr)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    enum Step { case request, wait, done }

    /// Polls the build, (re-)sending `request` while `step` says the state still asks for it, until it says done.
    func advance(
        buildURL: String, request: String, body: some Encodable & Sendable, step: (Build) throws -> Step
    ) async throws {
        let deadline = ContinuousClock.now + Self.phaseDeadline
        while ContinuousClock.now < deadline {
            if let build = try? await get(Build.self, buildURL, token: token) {
                switch try step(build) {
                case .done: return
                case .request: _ = try? await HTTP.postJSON(try url(buildURL + request), body, token: token)
                case .wait: break
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError.timedOut("\(buildURL)\(request) did not finish")
    }

    /// Waits until the update-repo job the build's publish job queued has ended.
    func waitForUpdate(buildURL: String) async throws {
        let deadline = ContinuousClock.now + Self.phaseDeadline
        var updateURL: String?
        while ContinuousClock.now < deadline {
            if updateURL == nil, let job = try? await get(Job.self, buildURL + "/publish", token: token),
                let data = job.results?.data(using: .utf8),
                let results = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let id = results["update-repo-job"] as? Int
            {
                updateURL = server.managerURL + "/api/v1/job/\(id)"
            }
            if let updateURL, let job = try? await get(Job.self, updateURL, token: token) {
                if job.status == .ended { return }
                if job.status == .broken { throw TestSupportError.unexpected("update-repo broke: \(job.log)") }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError.timedOut("the update-repo job of \(buildURL) did not end")
    }
}

/// What a supervisor such as systemd (`KillMode=control-group`) does when the server dies: the processes the
/// server started (flatpak, ostree; they run in sessions of their own) die too. Kills every process whose command
/// line names `directory`, and returns how many there were.
enum Orphans {
    static func kill(naming directory: String) async -> Int {
        var killed = 0
        for pid in find(naming: directory) where Glibc.kill(pid, SIGKILL) == 0 {
            killed += 1
        }
        // Wait (bounded) until they are gone, so that none writes into a repository after the restart.
        for _ in 0..<100 where !find(naming: directory).isEmpty {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return killed
    }

    static func find(naming directory: String) -> [pid_t] {
        let own = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != own,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(directory)
            else { return nil }
            // A zombie has an empty command line and is not found here.
            return pid
        }
    }
}

/// `ostree` run against a repository of the test server.
enum OSTreeTool {
    static func run(_ arguments: [String]) async throws -> ProcessResult {
        guard let ostree = TestEnvironment.executable(named: "ostree") else {
            throw TestSupportError.missingPrerequisite("ostree")
        }
        return try await ProcessRunner.run(ostree, arguments, timeout: .seconds(300))
    }

    /// The number of commits in the history of `ref` (`ostree log`).
    static func historyLength(repo: URL, ref: String) async throws -> Int {
        let result = try await run(["log", "--repo=\(repo.path)", ref])
        guard result.succeeded else { throw TestSupportError.unexpected("ostree log \(ref): \(result.stderr)") }
        return result.stdout.split(separator: "\n").filter { $0.hasPrefix("commit ") }.count
    }

    /// The refs of the repository below `prefix`.
    static func refs(repo: URL, prefix: String) async throws -> [String] {
        let result = try await run(["refs", "--repo=\(repo.path)"])
        guard result.succeeded else { throw TestSupportError.unexpected("ostree refs: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }.sorted()
    }
}
