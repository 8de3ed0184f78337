import Foundation
import Logging

/// Writes each log record as one JSON object per line on standard error (through `LogSink`), for log shippers: `timestamp` (ISO 8601,
/// UTC, milliseconds), `level`, `label`, `message`, and `metadata` (the request's or job's ids, and any other).
struct JSONLogHandler: LogHandler {
    let label: String
    var sink = LogSink.standardError
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { _, own in own }
        if let extra = event.metadata { merged.merge(extra) { _, own in own } }
        let record: [String: Any] = [
            "timestamp": Self.timestamp(Date()), "level": event.level.rawValue, "label": label,
            "message": "\(event.message)", "metadata": merged.mapValues(Self.json),
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        // One append per record: lines of concurrent tasks never interleave.
        sink.append(String(decoding: data, as: UTF8.self) + "\n", urgent: event.level >= .warning)
    }

    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
