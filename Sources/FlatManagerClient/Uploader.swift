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

    /// The names among `names` that the server does not have, asked in sorted chunks of 2000, several at once.
    func missing(_ names: [String]) async throws -> [String] {
        let sorted = names.sorted()
        let chunks = stride(from: 0, to: sorted.count, by: Self.queryChunk).map {
            Array(sorted[$0..<min($0 + Self.queryChunk, sorted.count)])
        }
        let answers = try await Concurrently.map(chunks, limit: parallel) { try await missingChunk($0) }
        return answers.flatMap { $0 }
    }

    private func missingChunk(_ chunk: [String]) async throws -> [String] {
        let body = try JSONEncoder().encode(MissingObjectsRequest(wanted: chunk))
        let url = buildURL + "/missing_objects"
        return try await api.call(MissingObjectsResponse.self, .GET, url, body: .gzipJSON(body), token: token).missing
    }

    /// Uploads `items`, then asks again which of them are missing and re-uploads those, up to three rounds.
    func uploadVerified(_ items: [UploadItem]) async throws {
        var pending = items
        for _ in 0..<Self.verifyRounds where !pending.isEmpty {
            try await upload(pending)
            let stillMissing = Set(try await missing(pending.map(\.name)))
            if !stillMissing.isEmpty { api.log.info("The server still lacks \(stillMissing.count) objects, resending") }
            pending = pending.filter { stillMissing.contains($0.name) }
        }
        guard pending.isEmpty else {
            throw ClientError.usage(
                "Upload incomplete: \(pending.count) objects still missing on the server, e.g. \(pending[0].name)")
        }
    }

    /// Uploads `items` in planned batches, several requests at once, showing progress.
    func upload(_ items: [UploadItem]) async throws {
        guard !items.isEmpty else { return }
        let batches = planner.batches(items)
        api.log.info("Uploading \(items.count) objects in \(batches.count) requests, \(parallel) at a time")
        let progress = UploadProgress(totalObjects: items.count, totalBytes: items.reduce(0) { $0 + $1.size })
        _ = try await Concurrently.map(batches, limit: parallel) { batch in
            let bytes = batch.reduce(0) { $0 + $1.size }
            progress.starting(count: batch.count, bytes: bytes)
            try await uploadRequest(batch)
            progress.stored(count: batch.count, bytes: bytes)
        }
        progress.finish()
    }

    /// One `POST upload` with all `items` as parts; a 5xx, a transport failure or an answer that does not list
    /// one size per part sends the same request again.
    func uploadRequest(_ items: [UploadItem]) async throws {
        let multipart = MultipartBody(items: items)
        let body = RequestBody.stream(
            contentType: multipart.contentType, length: multipart.length, make: { multipart.makeStream() })
        let url = buildURL + "/upload"
        try await api.retry.run {
            let answer = try await api.call(.POST, url, body: body, token: token, retrying: false).answer
            // One stored size per part (0.5's answer): a bare array, so Core has no struct for it.
            let sizes = try answer.decode([Int64].self, from: url)
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

/// Bounded concurrency for request fan-out.
enum Concurrently {
    /// `operation` applied to every element with at most `limit` calls running at once; results in input order.
    /// The first error cancels the rest and is thrown.
    static func map<Element: Sendable, Result: Sendable>(
        _ elements: [Element], limit: Int, _ operation: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        var results = [Result?](repeating: nil, count: elements.count)
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for index in elements.indices {
                if index >= max(1, limit), let (done, value) = try await group.next() { results[done] = value }
                group.addTask { (index, try await operation(elements[index])) }
            }
            for try await (done, value) in group { results[done] = value }
        }
        return results.compactMap { $0 }
    }
}
