import Foundation
import Testing

@testable import OSTree

#if canImport(Glibc)
    import Glibc
#endif

/// The runner kills a child's whole process group when the run is cancelled, and the watchdog kills it when the
/// server's end of the watchdog closes (which a `kill -9` of the server does; the integration tests kill a real one).
@Suite("Child watchdog and process-group kills")
struct ChildWatchdogTests {
    /// A shell that starts a grandchild `sleep`, writes its pid to `file`, and waits.
    private func treeCommand(writingPIDTo file: String) -> Command {
        Command(executable: "/bin/sh", arguments: ["-c", "sleep 300 & echo $! > '\(file)'; wait"])
    }

    private func waitForPID(in file: String) async throws -> pid_t {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CommandError.timedOut(command: "waiting for \(file)", seconds: 30)
    }

    /// Whether `pid` is gone or a zombie, waiting up to `within` for it.
    private func isDead(_ pid: pid_t, within: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + within
        repeat {
            guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return true }
            let text = String(decoding: stat, as: UTF8.self)
            if let close = text.lastIndex(of: ")"),
                let state = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces).first,
                state == "Z" || state == "X"
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        return false
    }

    private func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("watchdog-\(UUID().uuidString)").path
    }

    @Test("Cancelling a run kills the child and its grandchildren")
    func cancellationKillsTheGroup() async throws {
        let file = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let command = treeCommand(writingPIDTo: file)
        let run = Task { try await CommandRunner().run(command) }

        let grandchild = try await waitForPID(in: file)
        run.cancel()
        _ = await run.result

        #expect(await isDead(grandchild))
    }

    @Test("Closing the watchdog kills a registered child's group")
    func watchdogKillsRegisteredGroups() async throws {
        let file = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let watchdog = try ChildWatchdog.start()
        let command = treeCommand(writingPIDTo: file)
        let run = Task { try await CommandRunner(watchdog: watchdog).run(command) }

        let grandchild = try await waitForPID(in: file)
        // The runner registers the child just after the spawn, concurrently with it.
        let deadline = ContinuousClock.now + .seconds(30)
        while watchdog.registeredGroups.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(!watchdog.registeredGroups.isEmpty, "the runner never registered its child")
        watchdog.close()
        let result = await run.result

        #expect(await isDead(grandchild))
        #expect(throws: CommandError.self) { try result.get() }
    }

    @Test("An unregistered group is left alone when the watchdog closes")
    func unregisteredGroupsAreLeftAlone() async throws {
        let file = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let watchdog = try ChildWatchdog.start()
        // Run without the watchdog; the shell leads its own group (the runner gives every child a new session).
        let run = Task {
            try await CommandRunner().run(
                Command(executable: "/bin/sh", arguments: ["-c", "echo $$ > '\(file)'; exec sleep 300"]))
        }
        defer { run.cancel() }
        let group = try await waitForPID(in: file)

        watchdog.register(processGroup: group)
        watchdog.unregister(processGroup: group)
        watchdog.close()

        // A loaded machine (the whole suite in parallel) may take a while to schedule the helper.
        let helperEnded = await isDead(watchdog.helperPID, within: .seconds(60))
        let groupLeaderDead = await isDead(group, within: .zero)

        #expect(helperEnded)
        #expect(!groupLeaderDead)
    }
}
