import ArgumentParser
import FlatManagerCore
import Foundation
import NIOHTTP1
import OSTree
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// `push BUILD_URL REPO_PATH [BRANCH ...]`: uploads refs of a local archive repo to a build, optionally commits
/// and publishes it (client.md A.7.2 with 0.5's improvements).
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push refs from a local repo to a build.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The build URL.")
    var buildURL: String

    @Argument(help: "The local ostree repository (archive mode).")
    var repoPath: String

    @Argument(help: "Refs to push (default: all app/, runtime/ and screenshots/ refs).")
    var branches: [String] = []

    @Flag(help: "Commit the build after uploading.")
    var commit = false

    @Flag(help: "Commit and publish the build after uploading.")
    var publish = false

    @Flag(help: "Wait for the publish job.")
    var wait = false

    @Flag(name: .customLong("wait-update"), help: "Also wait for the repository update job.")
    var waitUpdate = false

    @Flag(name: .customLong("minimal-token"), help: "Upload with a token limited to this build.")
    var minimalToken = false

    @Option(name: .customLong("extra-id"), help: "An extra collection id suffix (repeatable).")
    var extraIDs: [String] = []

    @Option(name: .customLong("ignore-delta"), help: "Do not upload deltas of ids matching this glob (repeatable).")
    var ignoreDeltas: [String] = []

    @Option(name: .customLong("end-of-life"), help: "Mark the refs end-of-life with this message.")
    var endOfLife: String?

    @Option(name: .customLong("end-of-life-rebase"), help: "The id that replaces the end-of-life app.")
    var endOfLifeRebase: String?

    @Option(name: .customLong("token-type"), help: "The token type the committed refs require.")
    var tokenType: Int32?

    @Option(name: .customLong("build-log-url"), help: "A URL to the build log, recorded on the refs.")
    var buildLogURL: String?

    @Flag(name: .customLong("all-objects"), help: "Upload every object without asking which the server lacks.")
    var allObjects = false

    @Option(help: "How many upload requests to send at once.")
    var parallel = 6

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
    }

    func run() async throws {
        let options = self
        try await Runner.run("push", global) { session in
            try await PushOperation(options: options, session: session, buildURL: URLs.trimmed(options.buildURL))
                .run()
        }
    }
}

/// The steps of one push, in order.
struct PushOperation: Sendable {
    let options: Push
    let session: Session
    let buildURL: String

    func run() async throws -> JSON {
        let repo: LocalRepo
        do {
            repo = try LocalRepo(path: FilePath(options.repoPath))
        } catch {
            throw ClientError.usage("Can't open repo \(options.repoPath): \(error)")
        }
        let refs = try chooseRefs(repo)
        guard !refs.isEmpty else {
            Console.line("No matching refs to upload")
            // The build is the result as the server sent it (see `finish`).
            return try await session.api.call(.GET, buildURL).json
        }
        Console.line("Uploading refs to \(buildURL): \(JSON.pythonList(refs.map(\.name)))")
        let uploader = Uploader(
            api: session.api, buildURL: buildURL, token: try await uploadToken(),
            planner: UploadPlanner(maxBytes: session.settings.batchBytes, maxCount: session.settings.batchCount),
            parallel: options.parallel)
        try await uploadObjects(repo, refs: refs, uploader: uploader)
        try await uploadDeltas(repo, refs: refs, uploader: uploader)
        try await createRefs(refs, uploader: uploader)
        return try await finish()
    }

    /// The refs to push with their commits, sorted by name (0.5).
    func chooseRefs(_ repo: LocalRepo) throws -> [(name: String, commit: String)] {
        if options.branches.isEmpty {
            let all: [String: String]
            do { all = try repo.refs() } catch { throw ClientError.usage("Can't list refs: \(error)") }
            let kinds = ["app/", "runtime/", "screenshots/"]
            return all.filter { ref in kinds.contains { ref.key.hasPrefix($0) } }
                .map { (name: $0.key, commit: $0.value) }.sorted { $0.name < $1.name }
        }
        return try options.branches.map { branch in
            do {
                return (name: branch, commit: try repo.resolve(branch))
            } catch {
                throw ClientError.usage("No such ref: \(branch)")
            }
        }.sorted { $0.name < $1.name }
    }

    /// With `--minimal-token`, a token limited to uploading to this build (0.5 semantics); nil otherwise.
    func uploadToken() async throws -> String? {
        guard options.minimalToken else { return nil }
        guard let id = URLs.buildID(buildURL: buildURL) else {
            throw ClientError.usage("Can't find the build id in \(buildURL)")
        }
        let request = TokenSubsetRequest(sub: "build/\(id)", scope: ["upload"], duration: 3600, name: "minimal-upload")
        let url = URLs.manager(buildURL: buildURL) + "/api/v1/token_subset"
        return try await session.api.call(TokenResponse.self, .POST, url, json: request).token
    }

    /// Metadata closure, missing objects, then file objects before metadata (A.7.2 steps 4–9).
    func uploadObjects(_ repo: LocalRepo, refs: [(name: String, commit: String)], uploader: Uploader) async throws {
        let closure: PushClosure
        do {
            closure = try repo.closure(ofCommits: refs.map(\.commit))
        } catch {
            throw ClientError.exception(type: "ostree", message: "\(error)")
        }
        Console.line("Refs contain \(closure.metadata.count) metadata objects")
        let metadata = closure.metadata.map(\.fileName)
        let missingMetadata = options.allObjects ? metadata : try await uploader.missing(metadata)
        if !options.allObjects { Console.line("Remote missing \(missingMetadata.count) of those") }
        // 0.5: ask about every file of the closure, not only those of missing dirtrees.
        Console.line("Has \(closure.files.count) file objects for those")
        let files = closure.files.map(\.fileName)
        let missingFiles = options.allObjects ? files : try await uploader.missing(files)
        if !options.allObjects { Console.line("Remote missing \(missingFiles.count) of those") }
        Console.line("Uploading file objects")
        try await uploader.uploadVerified(try items(missingFiles, in: repo))
        Console.line("Uploading metadata objects")
        try await uploader.uploadVerified(try items(missingMetadata, in: repo))
    }

    func items(_ names: [String], in repo: LocalRepo) throws -> [UploadItem] {
        try names.map { name in
            guard let object = ObjectName(name) else {
                throw ClientError.exception(type: "ostree", message: "Server named an unknown object \(name)")
            }
            return try Uploader.item(name: name, path: repo.objectPath(object).string)
        }
    }

    /// From-scratch static deltas of the pushed app and runtime commits, all in one request (A.9).
    func uploadDeltas(_ repo: LocalRepo, refs: [(name: String, commit: String)], uploader: Uploader) async throws {
        Console.line("Uploading deltas")
        var parts: [UploadItem] = []
        for ref in refs {
            guard let parsed = RefName(ref.name), let id = parsed.id else { continue }
            if options.ignoreDeltas.contains(where: { fnmatch($0, id, 0) == 0 }) { continue }
            let deltaParts: [(fileName: String, path: FilePath)]
            do {
                deltaParts = try repo.staticDeltaParts(forCommit: ref.commit)
            } catch {
                throw ClientError.exception(type: "ostree", message: "\(error)")
            }
            guard !deltaParts.isEmpty else { continue }
            Console.line(" \(ref.name): \(ref.commit)")
            parts += try deltaParts.map { try Uploader.item(name: $0.fileName, path: $0.path.string) }
        }
        guard !parts.isEmpty else { return }
        try await uploader.uploadRequest(parts.sorted { $0.name < $1.name })
    }

    /// The build refs, then the extra ids (A.7.2 steps 11–12).
    func createRefs(_ refs: [(name: String, commit: String)], uploader: Uploader) async throws {
        for ref in refs {
            Console.line("Creating ref \(ref.name) with commit \(ref.commit)")
            let request = CreateBuildRefRequest(ref: ref.name, commit: ref.commit, buildLogURL: options.buildLogURL)
            _ = try await session.api.call(.POST, buildURL + "/build_ref", json: request, token: uploader.token)
        }
        guard !options.extraIDs.isEmpty else { return }
        Console.line("Adding extra ids \(JSON.pythonList(options.extraIDs))")
        _ = try await session.api.call(
            .POST, buildURL + "/add_extra_ids", json: AddExtraIDsRequest(ids: options.extraIDs),
            token: uploader.token)
    }

    /// Commit and publish as asked, then the build with the jobs attached (A.7.2 steps 13–15).
    func finish() async throws -> JSON {
        let actions = BuildActions(session: session, buildURL: buildURL)
        var commitJob: JSON?
        var published: BuildActions.Published?
        if options.commit || options.publish {
            commitJob = try await actions.commit(
                CommitRequest(
                    endoflife: options.endOfLife, endoflifeRebase: options.endOfLifeRebase,
                    tokenType: options.tokenType))
        }
        if options.publish {
            published = try await actions.publish(wait: options.wait, waitUpdate: options.waitUpdate)
        }
        // The result is the server's build JSON as it came, with the jobs added: the client reads nothing of it, and
        // members Core's `Build` does not model (or models differently, like 0.4.2's `token_branches`) pass through.
        var build = try await session.api.call(.GET, buildURL).json
        if let commitJob { build = build.setting("commit_job", commitJob) }
        if let published {
            build = build.setting("publish_job", published.publishJob)
            if let update = published.updateJob { build = build.setting("update_job", update) }
        }
        return build
    }
}
