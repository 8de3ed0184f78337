import FlatManagerCore

/// Why a command failed; each case becomes one `error` shape of the output JSON (client.md A.3, B.2).
enum ClientError: Error, Sendable {
    /// A non-success HTTP answer; `details` is the server's error JSON (or a stand-in when it sent none).
    case api(url: String, status: Int, details: JSON)
    /// A job or check that ended in failure; the job or check JSON.
    case job(JSON)
    /// A problem with what the user asked for (bad repo, unknown ref, incomplete upload).
    case usage(String)
    /// An upload the server stored only partly (0.5): `sent` parts, `stored` sizes returned.
    case incompleteUpload(sent: Int, stored: Int)
    /// Anything else; `type` names the failing layer (`http`, `json`, `io`, `ostree`).
    case exception(type: String, message: String)

    /// The `details` stand-in when an error body is not JSON (0.4.2's wording).
    static func nonJSONDetails(status: Int) -> JSON {
        .object([
            "status": .integer(Int64(status)), "error-type": .string("no-error"),
            "message": .string("No json error details from server"),
        ])
    }

    /// The `error` member of the output JSON.
    var outputJSON: JSON {
        switch self {
        case .api(let url, let status, let details):
            .object([
                "type": .string("api"), "url": .string(url), "status_code": .integer(Int64(status)),
                "details": details,
            ])
        case .job(let job):
            .object(["type": .string("job"), "job": job])
        case .usage(let message):
            .object(["type": .string("usage"), "details": .object(["message": .string(message)])])
        case .incompleteUpload(let sent, let stored):
            .object([
                "type": .string("incomplete-upload"),
                "details": .object(["sent": .integer(Int64(sent)), "stored": .integer(Int64(stored))]),
            ])
        case .exception(let type, let message):
            .object([
                "type": .string("exception"),
                "details": .object(["error-type": .string(type), "message": .string(message)]),
            ])
        }
    }

    /// The human-readable line written to stderr before the output JSON.
    func stderrLine(command: String) -> String {
        switch self {
        case .api(let url, let status, let details):
            "Api call to \(url) failed with status \(status), details: \(details.pythonRepr)"
        case .job(let job):
            "Job failed: \(job.pythonRepr)"
        case .usage(let message):
            message
        case .incompleteUpload(let sent, let stored):
            "Upload incomplete: sent \(sent) parts, server stored \(stored)"
        case .exception(let type, let message):
            "Unexpected \(type) exception in \(command): \(message)"
        }
    }

    /// Whether the failure is worth another attempt: 5xx answers, lossy uploads.
    var isTransient: Bool {
        switch self {
        case .api(_, let status, _): status >= 500
        case .incompleteUpload: true
        case .job, .usage, .exception: false
        }
    }
}
