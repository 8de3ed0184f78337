import CompressNIO
import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import OSTree
import SystemPackage

/// The object routes of a build: which objects it still needs (`missing_objects`) and the multipart upload.
extension BuildController {
    @Sendable func missingObjects(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.upload])
        let names = try await Self.wantedObjects(&request)
        metrics.missingObjectsCalled(wanted: names.count)
        let missing = try await Self.missing(of: names, storage: storage, buildID: build.id)
        // 0.4.2 always gzipped this response; both clients accept either, so follow Accept-Encoding (0.5). The
        // names are hex, which Huffman coding alone shrinks about as well as the default level, several times faster.
        return JSONResponse.make(
            bytes: WantedObjects.missingResponse(missing),
            gzip: Self.acceptsGzip(request) ? .init(compressionLevel: .fastestCompression, strategy: .huffmanOnly) : nil
        )
    }

    /// The body's object names, validated: read straight from the bytes in the shape both clients send, decoded in
    /// full otherwise (same answers and messages either way).
    static func wantedObjects(_ request: inout Request) async throws(APIError) -> [ObjectName] {
        let bytes = try await request.collectJSONBody(limit: BodyLimit.missingObjects)
        switch WantedObjects.parse(bytes) {
        case .names(let names): return names
        case .invalid(let string): throw APIError.generic("Invalid object name \(string)")
        case .notPlain: break
        }
        let body = try Request.decodeJSON(MissingObjectsRequest.self, from: bytes)
        var names: [ObjectName] = []
        names.reserveCapacity(body.wanted.count)
        for wanted in body.wanted {
            guard let name = ObjectName(wanted) else { throw APIError.generic("Invalid object name \(wanted)") }
            names.append(name)
        }
        return names
    }

    /// Which of `names` the build does not have, in their order (`ObjectLookup`: a kept or fresh listing of each
    /// `objects/xx` directory, or one `fstatat` per name, whichever costs less); the names
    /// found only in the main repository are recorded as the build's borrowed objects (`BorrowedObjects`, on disk
    /// before the answer goes out) under the repository's `AdoptionLock`, so a prune links them into the build before
    /// it can remove them. When the lock or the record cannot be had (a prune is running), those names are linked
    /// into the build now instead, as every call did before (about 10 µs each). On the blocking pool, never on the
    /// threads that serve requests, and split over two threads when large.
    static func missing(of names: [ObjectName], storage: BuildStorage, buildID: Int32) async throws -> [ObjectName] {
        let lock = AdoptionLock.shared(repository: storage.parentDirectory(buildID))
        defer { lock?.release() }
        guard lock != nil else {
            return try await inPieces(names) { adopt($0, storage: storage, buildID: buildID) }
        }
        let places = try await lookUp(names, storage: storage, buildID: buildID)
        let borrowed = zip(names, places).compactMap { $0.1 == .main ? $0.0 : nil }
        let recorded =
            borrowed.isEmpty
            ? true
            : try await NIOThreadPool.singleton.runIfActive {
                BorrowedObjects.record(borrowed, storage: storage, buildID: buildID)
            }
        if recorded {
            return zip(names, places).compactMap { $0.1 == .nowhere ? $0.0 : nil }
        }
        // Not recorded: link what the main repository has (and what it lost meanwhile is missing after all).
        let unlinked = Set(try await inPieces(borrowed) { adopt($0, storage: storage, buildID: buildID) })
        return zip(names, places).compactMap { name, place in
            place == .nowhere || (place == .main && unlinked.contains(name)) ? name : nil
        }
    }

    /// `work` over `items` on the blocking pool, in two halves on two threads from 8,192 items on, the results
    /// concatenated in order.
    private static func inPieces<T: Sendable>(
        _ items: [ObjectName], _ work: @escaping @Sendable (ArraySlice<ObjectName>) -> [T]
    ) async throws -> [T] {
        let pieces = items.count >= 8192 ? 2 : 1
        let size = (items.count + pieces - 1) / pieces
        let ranges = stride(from: 0, to: items.count, by: max(size, 1)).map { $0..<min($0 + size, items.count) }
        return try await withThrowingTaskGroup(of: (Int, [T]).self) { group -> [T] in
            for (piece, range) in ranges.enumerated() {
                group.addTask {
                    (piece, try await NIOThreadPool.singleton.runIfActive { work(items[range]) })
                }
            }
            var results = [[T]](repeating: [], count: ranges.count)
            for try await (piece, result) in group { results[piece] = result }
            return results.flatMap { $0 }
        }
    }

    /// Where each of `names` is for the build, on the blocking pool: from 8,192 names on, in two halves by prefix on
    /// two threads (each name's work is independent, and each prefix directory is read by one thread only).
    private static func lookUp(_ names: [ObjectName], storage: BuildStorage, buildID: Int32) async throws
        -> [ObjectPlace]
    {
        let halves = names.count >= 8192 ? [0..<128, 128..<256] : [0..<256]
        var places = [ObjectPlace](repeating: .nowhere, count: names.count)
        try await withThrowingTaskGroup(of: [(Int, ObjectPlace)].self) { group in
            for prefixes in halves {
                group.addTask {
                    try await NIOThreadPool.singleton.runIfActive {
                        guard let lookup = try? ObjectLookup(storage: storage, buildID: buildID) else {
                            // No build repository to open (a build removed meanwhile): the slow path answers as it
                            // always did.
                            return names.indices.compactMap { index -> (Int, ObjectPlace)? in
                                guard let prefix = names[index].prefixIndex, prefixes.contains(prefix) else {
                                    return nil
                                }
                                return (index, storage.adoptObject(buildID, names[index]) ? .build : .nowhere)
                            }
                        }
                        return lookup.places(of: names, prefixes: prefixes)
                    }
                }
            }
            for try await found in group {
                for (index, place) in found { places[index] = place }
            }
        }
        return places
    }

    /// The names of `names` the build does not have, after linking those the main repository has.
    private static func adopt(_ names: ArraySlice<ObjectName>, storage: BuildStorage, buildID: Int32) -> [ObjectName] {
        guard var adopter = try? ObjectAdopter(storage: storage, buildID: buildID) else {
            // No build repository to open (a build removed meanwhile): the slow path answers as it always did.
            return names.filter { !storage.adoptObject(buildID, $0) }
        }
        var missing: [ObjectName] = []
        for name in names where !adopter.adopt(name) { missing.append(name) }
        return missing
    }

    static func acceptsGzip(_ request: Request) -> Bool {
        (request.headers[.acceptEncoding] ?? "").lowercased().split(separator: ",").contains {
            let coding = $0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? ""
            return coding == "gzip" && !$0.replacingOccurrences(of: " ", with: "").hasSuffix("q=0")
        }
    }

    @Sendable func upload(_ request: Request, context: AppRequestContext) async throws -> Response {
        let build = try await authorizedBuild(try buildID(context), context, scopes: [.upload])
        guard build.repoState == .uploading else {
            throw APIError.wrongRepoState(
                "Build is not accepting uploads", expected: .uploading, current: build.repoState.reportedForCommit)
        }
        guard let boundary = request.headers[.contentType].flatMap(MultipartBoundary.from(contentType:)) else {
            throw APIError.generic("Upload body is not multipart")
        }
        let budget = BuildUploadBudget(
            buildID: build.id, uploadDirectory: storage.uploadDirectory(build.id).string,
            maxPartBytes: rules.maxObjectBytes,
            maxBuildBytes: rules.maxBuildBytes, tally: uploadTally)
        do {
            let sizes = try await UploadReceiver.receive(
                body: request.body, boundary: boundary, tempDirectory: storage.uploadStagingDirectory(build.id).string,
                budget: budget
            ) { (fileName: String) throws(UploadError) -> UploadDestination in
                switch UploadFileName(fileName) {
                case .object(let name):
                    return UploadDestination(
                        finalPath: storage.uploadedObjectPath(build.id, name).string,
                        verifier: ObjectUploadVerifier(name))
                case .deltaPart(let part):
                    return UploadDestination(
                        finalPath: storage.uploadedDeltaPartPath(build.id, part).string, verifier: nil)
                case nil:
                    throw UploadError.invalidFilename(fileName)
                }
            }
            metrics.uploaded(sizes: sizes)
            return try JSONResponse.make(sizes)
        } catch let error as UploadError {
            metrics.uploadRefused()
            switch error {
            case .io(let reason):
                logger.error("Upload to build \(build.id) failed: \(reason)")
                throw APIError.internalError
            case .tooLarge(let reason):
                logger.notice("Upload to build \(build.id) refused: \(reason)")
                throw APIError.tooLarge(reason)
            default:
                throw APIError.generic(error.message)
            }
        }
    }
}
