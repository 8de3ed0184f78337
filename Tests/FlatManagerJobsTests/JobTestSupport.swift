import FlatManagerCore
import FlatManagerJobs
import FlatManagerStore
import Foundation
import Logging
import OSTree
import Synchronization
import SystemPackage

import class TestSupport.TempDirectory

/// A command runner that records commands and imitates the few effects the jobs rely on (refs written by
/// `flatpak build-commit-from`). It is for the logic of the jobs; the integration tests run the real tools.
final class FakeRunner: CommandRunning, Sendable {
    let commands = Mutex<[Command]>([])
    /// Commands whose arguments contain this text fail with exit status 1.
    let failing: String?

    init(failing: String? = nil) {
        self.failing = failing
    }

    var recorded: [Command] { commands.withLock { $0 } }

    func run(_ command: Command) async throws -> CommandOutput {
        commands.withLock { $0.append(command) }
        if let failing, command.arguments.contains(where: { $0.contains(failing) }) {
            throw CommandError.failed(command: command.description, exitCode: 1, stderr: "simulated failure")
        }
        if command.arguments.first == "build-commit-from" { try imitateCommit(command.arguments) }
        return CommandOutput(exitCode: 0, stdout: "", stderr: "")
    }

    /// `... <dest repo> [<ref> ...]`: write the refs (or every app/runtime ref of --src-repo) into the destination.
    func imitateCommit(_ arguments: [String]) throws {
        let positional = arguments.dropFirst().filter { !$0.hasPrefix("--") }
        let srcRepo = arguments.first { $0.hasPrefix("--src-repo=") }.map { String($0.dropFirst(11)) }
        let destination = positional.first ?? ""
        var refs = Array(positional.dropFirst())
        if refs.isEmpty, let srcRepo {
            refs = try Refs.list(repo: FilePath(srcRepo)).filter { $0.hasPrefix("app/") || $0.hasPrefix("runtime/") }
        }
        // The commit job's import without --src-ref reads each ref from the upload repository, as flatpak does.
        if arguments.contains("--untrusted"), !arguments.contains(where: { $0.hasPrefix("--src-ref=") }),
            let srcRepo
        {
            for ref in refs where try Refs.read(repo: FilePath(srcRepo), ref: ref) == nil {
                throw CommandError.failed(
                    command: arguments.joined(separator: " "), exitCode: 1, stderr: "Refspec '\(ref)' not found")
            }
        }
        for ref in refs {
            let path = "\(destination)/refs/heads/\(ref)"
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let commit = String(repeating: destination.count % 2 == 0 ? "c" : "d", count: 64)
            try (commit + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

/// A store, a config with one repo and an environment over a fake runner, in a temporary directory.
struct JobHarness {
    /// Keeps the scratch directory alive (it is removed when the last copy of the harness goes away).
    let scratch: TempDirectory
    let directory: String
    let config: Config
    let store: Store
    let runner: FakeRunner
    let dispatcher: JobDispatcher

    static func make(
        runner: FakeRunner = FakeRunner(), repoExtra: String = "", globalExtra: String = "",
        keys: ExportedKeys = ExportedKeys()
    ) async throws -> JobHarness {
        let scratch = try TempDirectory(prefix: "fm-jobs")
        let directory = scratch.path
        try FileManager.default.createDirectory(
            atPath: "\(directory)/repo/refs/heads", withIntermediateDirectories: true)
        try "[core]\nmode=archive-z2\n".write(toFile: "\(directory)/repo/config", atomically: true, encoding: .utf8)
        let json = """
            {"secret": "c2VjcmV0", "build-repo-base": "builds", "commit-workers": 2\(globalExtra),
             "repos": {"stable": {"path": "repo", "collection-id": "org.test.Stable", "subsets": {}\(repoExtra)}}}
            """
        let config = try Config.parse(Data(json.utf8), file: "jobs-test.json", workingDirectory: FilePath(directory))
        var logger = Logger(label: "jobs-test")
        logger.logLevel = .warning
        let store = try await Store.open(databaseURL: nil, workingDirectory: FilePath(directory), logger: logger)
        try await store.migrate()
        let environment = JobEnvironment(
            store: store, config: config, runner: runner, deltaRunner: runner, exportedKeys: keys,
            logger: logger, serverEnvironment: ProcessInfo.processInfo.environment)
        let dispatcher = JobDispatcher(environment: environment, owner: "test:1:1")
        return JobHarness(
            scratch: scratch, directory: directory, config: config, store: store, runner: runner, dispatcher: dispatcher
        )
    }

    func close() async {
        try? await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A build with its repositories and the given refs registered.
    func makeBuild(refs: [String]) async throws -> Build {
        let build = try await store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let buildDir = "\(config.buildRepoBase)/\(build.id)"
        try RepoLayout.createBuildRepository(
            at: FilePath(buildDir), parent: FilePath("\(directory)/repo"), collectionID: nil)
        try RepoLayout.createBuildRepository(
            at: FilePath(buildDir + "/upload"), parent: FilePath("\(directory)/repo"), collectionID: nil)
        for ref in refs {
            _ = try await store.upsertBuildRef(
                buildID: build.id, refName: ref, commit: String(repeating: "a", count: 64), buildLogURL: nil)
        }
        return build
    }

    /// Claims and runs queued jobs of a queue until none is left.
    func drain(_ queue: Store.QueueSelector) async throws {
        while let job = try await store.claimNextJob(
            queue: queue, owner: "test:1:1", leaseSeconds: 60, allowConcurrent: true)
        {
            await dispatcher.execute(job)
        }
    }
}
