/// A writer of the fast path's access-log lines as whole lines (issue #13): the fast path formats the message itself,
/// and the writer adds what the server's log handler would (time, level, label, metadata, source) without swift-log's
/// per-line work (a metadata dictionary, merging and sorting it, a message string, a second copy of the line).
///
/// The server installs one for its text format (`TextAccessLog`), which writes exactly what `TextLogHandler` writes
/// for the same line; without one (JSON lines), the fast path logs through the access `Logger`.
public protocol FastAccessLog: Sendable {
    /// Writes the info-level line for `message` with the metadata `repo` and `request_id` (all UTF-8).
    func info(repo: UnsafeRawBufferPointer, requestID: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer)
}
