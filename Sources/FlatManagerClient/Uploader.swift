import FlatManagerCore
import Foundation
import NIOHTTP1

/// Asks the server which objects it lacks and uploads files to a build (client.md A.7.2 steps 5–10, A.8, B.2).
struct Uploader: Sendable {
    let api: API
    /// The build URL without trailing slash.
    let buildURL: String
    /// The token for upload requests (a minimal token with `--minimal-token`), nil for the main one.
    let token: String?
    let planner: UploadPlanner
    /// How many upload requests may be in flight at once.
    let parallel: Int

    /// Names per `missing_objects` request.
    static let queryChunk = 2000
    /// Rounds of re-asking `missing_objects` after an upload before giving up (0.5).
    static let verifyRounds = 3

    /// The names among `names` that the server does not have, asked in sorted chunks of 2000.
    func missing(_ names: [String]) async throws -> [String] {
        var missing: [String] = []
        let sorted = names.sorted()
        for start in stride(from: 0, to: sorted.count, by: Self.queryChunk) {
            let chunk = Array(sorted[start..<min(start + Self.queryChunk, sorted.count)])
            let body = try JSONEncoder().encode(MissingObjectsRequest(wanted: chunk))
            let answer = try await api.call(.GET, buildURL + "/missing_objects", body: .gzipJSON(body), token: token)
            guard case .array(let names)? = answer.json["missing"] else {
                throw ClientError.exception(type: "json", message: "missing_objects answer without 'missing'")
            }
            missing += names.compactMap(\.stringValue)
        }
        return missing
    }

    /// Uploads `items`, then asks again which of them are missing and re-uploads those, up to three rounds.
    func uploadVerified(_ items: [UploadItem]) async throws {
        var pending = items
        for _ in 0..<Self.verifyRounds where !pending.isEmpty {
            try await upload(pending)
            let stillMissing = Set(try await missing(pending.map(\.name)))
            pending = pending.filter { stillMissing.contains($0.name) }
        }
        guard pending.isEmpty else {
            throw ClientError.usage(
                "Upload incomplete: \(pending.count) objects still missing on the server, e.g. \(pending[0].name)")
        }
    }

    /// Uploads `items` in planned batches, several requests at once.
    func upload(_ items: [UploadItem]) async throws {
        let batches = planner.batches(items)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for batch in batches {
                if inFlight >= max(1, parallel) {
                    _ = try await group.next()
                    inFlight -= 1
                }
                Console.line("Uploading \(batch.count) files (\(batch.reduce(0) { $0 + $1.size }) bytes)")
                group.addTask { try await uploadRequest(batch) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
    }

    /// One `POST upload` with all `items` as parts; a 5xx, a transport failure or an answer that does not list
    /// one size per part sends the same request again.
    func uploadRequest(_ items: [UploadItem]) async throws {
        let multipart = MultipartBody(items: items)
        let body = RequestBody.stream(
            contentType: multipart.contentType, length: multipart.length, make: { multipart.makeStream() })
        let url = buildURL + "/upload"
        try await api.retry.run {
            let answer = try await api.call(.POST, url, body: body, token: token, retrying: false)
            guard case .array(let sizes) = answer.json else {
                throw ClientError.exception(type: "json", message: "upload answer is not an array")
            }
            guard sizes.count == items.count else {
                throw ClientError.incompleteUpload(sent: items.count, stored: sizes.count)
            }
        }
    }

    /// The upload item for a file on disk.
    static func item(name: String, path: String) throws -> UploadItem {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw ClientError.exception(type: "io", message: "Cannot read \(path): \(error.localizedDescription)")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        return UploadItem(name: name, path: path, size: size)
    }
}
