import Hummingbird

/// Conditional request evaluation in RFC 9110 §13.2.2 order. libostree sends conditional requests
/// for `summary`/`summary.sig`, so a 304 is only answered when the validators really match.
enum Preconditions {
    enum Outcome: Equatable {
        case proceed
        case notModified
        case failed
    }

    static func evaluate(_ headers: HTTPFields, file: FileIdentity) -> Outcome {
        if let ifMatch = headers[.ifMatch] {
            guard matches(ifMatch, eTag: file.eTag, weak: false) else { return .failed }
        } else if let since = headers[.ifUnmodifiedSince].flatMap(HTTPDate.parse), file.modifiedSeconds > since {
            return .failed
        }
        if let ifNoneMatch = headers[.ifNoneMatch] {
            return matches(ifNoneMatch, eTag: file.eTag, weak: true) ? .notModified : .proceed
        }
        if let since = headers[.ifModifiedSince].flatMap(HTTPDate.parse), file.modifiedSeconds <= since {
            return .notModified
        }
        return .proceed
    }

    /// Whether an `If-Match`/`If-None-Match` list names our tag (`*` names any). If-Match uses
    /// strong comparison; If-None-Match weak comparison, where `W/"x"` also names our `"x"`.
    static func matches(_ list: String, eTag: String, weak: Bool) -> Bool {
        list.split(separator: ",").contains { candidate in
            let tag = HeaderParameters.trim(candidate)
            return tag == "*" || tag == eTag || (weak && tag == "W/" + eTag)
        }
    }
}

/// The byte range to serve for a `Range` request (single ranges only; anything else is served whole).
enum ByteRange: Equatable {
    case whole
    case part(Range<Int64>)
    case unsatisfiable

    static func select(_ headers: HTTPFields, file: FileIdentity) -> ByteRange {
        guard let header = headers[.range] else { return .whole }
        if let ifRange = headers[.ifRange], !ifRangeHolds(ifRange, file: file) { return .whole }
        return parse(header, size: file.size)
    }

    /// `If-Range` holds for our exact (strong) tag or our exact Last-Modified date.
    private static func ifRangeHolds(_ value: String, file: FileIdentity) -> Bool {
        let value = HeaderParameters.trim(value)
        if value.hasPrefix("\"") { return value == file.eTag }
        return HTTPDate.parse(value) == file.modifiedSeconds
    }

    /// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`; syntax errors and multiple ranges mean "whole".
    static func parse(_ header: String, size: Int64) -> ByteRange {
        let header = HeaderParameters.trim(header)
        guard header.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = HeaderParameters.trim(header.dropFirst("bytes=".count))
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = HeaderParameters.trim(spec[..<dash])
        let last = HeaderParameters.trim(spec[spec.index(after: dash)...])
        if first.isEmpty {
            guard let suffix = Int64(last), suffix >= 0 else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix)..<size)
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        var end = size - 1
        if !last.isEmpty {
            guard let requested = Int64(last), requested >= start else { return .whole }
            end = min(requested, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .part(start..<(end + 1))
    }
}
