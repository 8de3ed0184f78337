import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import OSTree
import SystemPackage

/// The worker loop: connect, register, generate what the server asks for, upload it, report; reconnect after
/// 10 s when the connection ends. Its ostree repo (`WORKDIR/repo`, bare-user, remote `upstream`) keeps pulled
/// commits so later deltas of the same app need little downloading; it is pruned once a day (`PRUNE_INTERVAL_SECS`),
/// never while an assignment uses it.
struct DeltaWorker: Sendable {
    let settings: WorkerSettings
    let logger: Logger
    var runner = CommandRunner()
    let gate = RepositoryGate()

    init(settings: WorkerSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    var repository: FilePath { FilePath(settings.workDirectory).appending("repo") }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Creates the worker's repository and its `upstream` remote if they are not there yet.
    func prepareRepository() async throws {
        try FileManager.default.createDirectory(atPath: settings.workDirectory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: repository.appending("config").string) {
            try await runner.run(.ostreeInitWorkerRepo(repo: repository))
        }
        try await runner.run(.ostreeAddUpstreamRemote(repo: repository, url: settings.managerURL))
    }

    func runForever() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pruneDaily() }
            while !Task.isCancelled {
                do {
                    try await connectOnce()
                    logger.info("Connection to \(settings.webSocketURL) closed")
                } catch {
                    logger.error("Connection to \(settings.webSocketURL) failed: \(error)")
                }
                try await Task.sleep(for: .seconds(10))
            }
            group.cancelAll()
        }
    }

    /// Upstream's daily `ostree prune --keep-younger-than=3 days ago`. Pulls by checksum leave no refs, so it
    /// deletes every pulled commit, including one an assignment is about to generate from: it waits until no
    /// assignment uses the repository, and new assignments wait until it is done.
    private func pruneDaily() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(settings.pruneIntervalSecs))
            } catch {
                return
            }
            await gate.beginPrune()
            do {
                try await runner.run(.ostreePruneWorkerRepo(repo: repository))
                logger.info("Pruned \(repository)")
            } catch {
                logger.warning("Pruning \(repository) failed: \(error)")
            }
            await gate.endPrune()
        }
    }

    /// One websocket session: `Register`, then one task per assignment answering `Finished`.
    func connectOnce() async throws {
        var configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30)))
        configuration.additionalHeaders[.authorization] = "Bearer \(settings.token)"
        let capacity = settings.capacity
        try await WebSocketClient.connect(url: settings.webSocketURL, configuration: configuration, logger: logger) {
            inbound, outbound, _ in
            logger.info("Connected to \(settings.webSocketURL), registering with capacity \(capacity)")
            try await outbound.write(.text(DeltaWorkerJSON.encode(DeltaWorkerMessage.register(capacity: capacity))))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message,
                        let assignment = DeltaWorkerJSON.decode(DeltaAssignment.self, from: text)
                    else {
                        logger.warning("Ignoring an unexpected message: \(message)")
                        continue
                    }
                    group.addTask {
                        let errmsg = await process(assignment)
                        let finished = DeltaWorkerMessage.finished(id: assignment.id, errmsg: errmsg)
                        try await outbound.write(.text(DeltaWorkerJSON.encode(finished)))
                    }
                }
                // The server went away: unfinished work cannot be reported any more.
                group.cancelAll()
            }
        }
    }

    /// Pulls, generates and uploads one delta; `nil` on success, else the error text for `Finished`.
    func process(_ assignment: DeltaAssignment) async -> String? {
        await gate.beginUse()
        let errmsg = await generateAndUpload(assignment)
        await gate.endUse()
        return errmsg
    }

    private func generateAndUpload(_ assignment: DeltaAssignment) async -> String? {
        let delta = assignment.delta
        logger.info("Generating delta \(delta) of \(assignment.repo) (request \(assignment.id))")
        do {
            let url = settings.cdnURL ?? assignment.url
            for commit in [delta.from, delta.to].compactMap(\.self) {
                try await pull(commit, from: url)
            }
            try await runner.run(.flatpakGenerateDelta(repo: repository, from: delta.from, to: delta.to))
            try await upload(delta, repo: assignment.repo)
            logger.info("Uploaded delta \(delta) of \(assignment.repo)")
            return nil
        } catch {
            logger.error("Delta \(delta) of \(assignment.repo) failed: \(error)")
            return "\(error)"
        }
    }

    /// `ostree pull`, up to five attempts (the network or the server may hiccup).
    private func pull(_ commit: String, from url: String) async throws {
        var lastError: (any Error)?
        for attempt in 1...5 {
            do {
                try await runner.run(.ostreePullCommit(repo: repository, url: url, commit: commit))
                return
            } catch {
                logger.warning("Pull of \(commit) failed (attempt \(attempt) of 5): \(error)")
                lastError = error
                try await Task.sleep(for: .seconds(attempt))
            }
        }
        throw lastError ?? Failure(description: "Pull of \(commit) failed")
    }

    /// Every file of the delta directory, one request per file (memory stays bounded by one part).
    private func upload(_ delta: Delta, repo: String) async throws {
        let directory = repository.pushing(delta.directory)
        // Only the regular files of a real directory: a symlink is never followed into an upload.
        guard FileKind.at(directory) == .directory else {
            throw Failure(description: "No delta directory \(directory)")
        }
        let files = DirectoryWalk.regularFiles(in: directory)
        guard files.contains("superblock") else { throw Failure(description: "No superblock in \(directory)") }
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory.appending(file).string))
            try await uploadPart(name: "\(delta.name).\(file).delta", data: data, repo: repo)
        }
    }

    private func uploadPart(name: String, data: Data, repo: String) async throws {
        let boundary = (0..<32).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        var body = ByteBuffer()
        body.writeString(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"content\"; filename=\"\(name)\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n")
        body.writeBytes(data)
        body.writeString("\r\n--\(boundary)--\r\n")
        let encodedRepo = repo.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? repo
        var request = HTTPClientRequest(url: "\(settings.managerURL)/api/v1/delta/upload/\(encodedRepo)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.token)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw Failure(
                description: "Upload of \(name) failed with \(response.status.code): \(String(buffer: answer))")
        }
    }
}

/// Assignments share the worker's repository; the prune needs it alone. A waiting prune holds back new
/// assignments, so a steady stream of work cannot put it off for ever.
actor RepositoryGate {
    private var users = 0
    private var pruning = false
    private var pruneWaiting = false
    private var waitingUsers: [CheckedContinuation<Void, Never>] = []
    private var waitingPrune: CheckedContinuation<Void, Never>?

    func beginUse() async {
        while pruning || pruneWaiting {
            await withCheckedContinuation { waitingUsers.append($0) }
        }
        users += 1
    }

    func endUse() {
        users -= 1
        if users == 0, let prune = waitingPrune {
            waitingPrune = nil
            prune.resume()
        }
    }

    func beginPrune() async {
        pruneWaiting = true
        if users > 0 {
            await withCheckedContinuation { waitingPrune = $0 }
        }
        pruneWaiting = false
        pruning = true
    }

    func endPrune() {
        pruning = false
        let waiting = waitingUsers
        waitingUsers = []
        for user in waiting { user.resume() }
    }
}
