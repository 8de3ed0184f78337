import FlatManagerCore
import FlatManagerStore
import Foundation
import Hummingbird

/// Jobs and check reviews (api.md §4.4, §4.5).
public struct JobController: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("job/:id", use: get)
        group.post("job/:id/check/review", use: review)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let id = try buildID(context)  // before the claims, as upstream extracts the path first (plain 404)
        try context.requireClaims().require(sub: "build", scope: .jobs)
        let asked = try await request.jobLogRequest()
        return try await JobWaiting(store: store).answer(jobID: id, asked)
    }

    /// `{"new-status": {"status": "Failed", "reason": "…"}, "new-results": "…"}`.
    struct ReviewRequest: Decodable {
        struct NewStatus: Decodable {
            var status: String
            var reason: String?
        }
        var newStatus: NewStatus
        var newResults: String?

        enum CodingKeys: String, CodingKey {
            case newStatus = "new-status"
            case newResults = "new-results"
        }

        func checkStatus() throws(APIError) -> CheckStatus {
            switch (newStatus.status, newStatus.reason) {
            case ("Pending", _): return .pending
            case ("Passed", _): return .passed
            case ("PassedWithWarnings", let reason?): return .passedWithWarnings(reason)
            case ("Failed", let reason?): return .failed(reason)
            case ("ReviewRequired", let reason?): return .reviewRequired(reason)
            default: throw .badBody("Json deserialize error: invalid new-status \(newStatus.status)")
            }
        }
    }

    @Sendable func review(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let id = try buildID(context)  // before the claims, as upstream extracts the path first (plain 404)
        try context.requireClaims().require(sub: "build", scope: .reviewcheck)
        let body = try await request.decodeJSON(ReviewRequest.self)
        let status = try body.checkStatus()
        guard
            try await store.setCheckStatus(
                jobID: id, status: status, results: body.newResults, onlyIfPendingUnlessFailed: false) != nil
        else { throw APIError.notFound }
        return JSONResponse.noContent()
    }
}
