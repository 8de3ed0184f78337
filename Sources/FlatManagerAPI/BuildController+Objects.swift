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
        let body = try await request.decodeJSON(MissingObjectsRequest.self, limit: BodyLimit.missingObjects)
        metrics.missingObjectsCalled(wanted: body.wanted.count)
        var parsed: [ObjectName] = []
        parsed.reserveCapacity(body.wanted.count)
        for wanted in body.wanted {
            guard let name = ObjectName(wanted) else { throw APIError.generic("Invalid object name \(wanted)") }
            parsed.append(name)
        }
        // Found in the main repository: linked into the build, so a prune can never take it from under it. A
        // hundred thousand names are a few hundred thousand system calls: on the blocking pool, not on the
        // threads that serve requests.
        let storage = self.storage
        let buildID = build.id
        let wanted = body.wanted
        let names = parsed
        let missing = try await NIOThreadPool.singleton.runIfActive { () -> [String] in
            var missing: [String] = []
            guard var adopter = try? ObjectAdopter(storage: storage, buildID: buildID) else {
                // No build repository to open (a build removed meanwhile): the slow path answers as it always did.
                for (index, name) in names.enumerated() where !storage.adoptObject(buildID, name) {
                    missing.append(wanted[index])
                }
                return missing
            }
            for (index, name) in names.enumerated() where !adopter.adopt(name) { missing.append(wanted[index]) }
            return missing
        }
        // 0.4.2 always gzipped this response; both clients accept either, so follow Accept-Encoding (0.5).
        return try JSONResponse.make(MissingObjectsResponse(missing: missing), gzip: Self.acceptsGzip(request))
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
