import FlatManagerCore
import Foundation
import SQLKit

/// Where PostgreSQL and SQLite store the same value differently.
///
/// PostgreSQL keeps upstream's types (`timestamp`, `text[]`). Our SQLite schema stores timestamps as INTEGER
/// microseconds since the epoch (UTC) and string arrays as JSON text, so that comparisons stay numeric and no
/// date parsing is involved. All times come from the application clock, on both engines.
extension Store {
    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, where `BEGIN IMMEDIATE` already holds the write lock.
    var forUpdate: String { kind == .postgres ? " FOR UPDATE" : "" }

    /// The row lock for job rows: `FOR NO KEY UPDATE` still excludes every other writer of the row, but unlike
    /// `FOR UPDATE` it does not block (or deadlock with) transactions that merely reference the job through a
    /// foreign key, such as one adding a `job_dependencies` row on it.
    var forJobUpdate: String { kind == .postgres ? " FOR NO KEY UPDATE" : "" }

    /// The bindable form of a timestamp for this engine.
    func bind(_ time: Timestamp) -> any Encodable & Sendable {
        kind == .postgres ? time.date : time.microsecondsSinceEpoch
    }

    /// The bindable form of an optional timestamp.
    func bind(_ time: Timestamp?) -> any Encodable & Sendable {
        switch time {
        case .some(let value): bind(value)
        case .none: kind == .postgres ? Date?.none : Int64?.none
        }
    }

    /// The bindable form of a string array (`text[]` or JSON text).
    func bind(_ strings: [String]) -> any Encodable & Sendable {
        kind == .postgres ? strings : JSONText.array(strings)
    }

    /// The bindable form of an optional string array.
    func bind(_ strings: [String]?) -> any Encodable & Sendable {
        switch strings {
        case .some(let value): bind(value)
        case .none: kind == .postgres ? [String]?.none : String?.none
        }
    }

    /// Reads a timestamp column in this engine's representation.
    func time(_ row: any SQLRow, _ column: String) throws -> Timestamp? {
        if kind == .postgres {
            return try row.decode(column: column, as: Date?.self).map(Timestamp.init(date:))
        }
        return try row.decode(column: column, as: Int64?.self).map(Timestamp.init(microsecondsSinceEpoch:))
    }

    /// Reads a string-array column in this engine's representation.
    func strings(_ row: any SQLRow, _ column: String) throws -> [String]? {
        if kind == .postgres { return try row.decode(column: column, as: [String]?.self) }
        guard let text = try row.decode(column: column, as: String?.self) else { return nil }
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.database("Column \(column) holds invalid JSON: \(text)")
        }
    }
}

/// Typed column access shared by both engines: integers are read as `Int` (SQLite has only 64-bit integers).
extension SQLRow {
    func int32(_ column: String) throws -> Int32 { Int32(truncatingIfNeeded: try decode(column: column, as: Int.self)) }

    func optionalInt32(_ column: String) throws -> Int32? {
        try decode(column: column, as: Int?.self).map { Int32(truncatingIfNeeded: $0) }
    }

    func int16(_ column: String) throws -> Int16 { Int16(truncatingIfNeeded: try decode(column: column, as: Int.self)) }

    func string(_ column: String) throws -> String { try decode(column: column, as: String.self) }

    func optionalString(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }

    func bool(_ column: String) throws -> Bool { try decode(column: column, as: Bool.self) }
}
