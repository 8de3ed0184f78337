import FlatManagerCore
import Foundation

/// A JSON value as the client passes it through: server objects are shown to the user as they came. What the
/// client reads from an answer, it reads through Core's wire types (`Decoded`, `HTTPAnswer.decode`).
///
/// Objects keep no member order; the printers sort keys so output is stable.
typealias JSON = JSONValue

extension JSON {
    /// Parses JSON text; nil when it is not JSON.
    init?(data: Data) {
        guard let value = try? JSONDecoder().decode(JSON.self, from: data) else { return nil }
        self = value
    }

    /// The object with one member set (self must be an object; otherwise it is returned unchanged).
    func setting(_ key: String, _ value: JSON) -> JSON {
        guard case .object(var members) = self else { return self }
        members[key] = value
        return .object(members)
    }
}

extension JSON {
    /// JSON text indented like Python's `json.dumps(indent=4)` (the 0.4.2 client's `--output` format).
    func pretty(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 4)
        let end = String(repeating: " ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            let body = items.map { pad + $0.pretty(indent: indent + 4) }.joined(separator: ",\n")
            return "[\n" + body + "\n" + end + "]"
        case .object(let members) where !members.isEmpty:
            let body = members.keys.sorted().map { key in
                pad + Self.quoted(key) + ": " + (members[key] ?? .null).pretty(indent: indent + 4)
            }
            return "{\n" + body.joined(separator: ",\n") + "\n" + end + "}"
        default:
            return compact
        }
    }

    /// JSON text without whitespace.
    var compact: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .integer(let i): String(i)
        case .number(let d): Self.number(d)
        case .string(let s): Self.quoted(s)
        case .array(let items): "[" + items.map(\.compact).joined(separator: ",") + "]"
        case .object(let members):
            "{"
                + members.keys.sorted().map { Self.quoted($0) + ":" + (members[$0] ?? .null).compact }
                .joined(separator: ",") + "}"
        }
    }

    /// The value as Python prints a dict (`repr`), as the 0.4.2 client's error lines show server answers.
    var pythonRepr: String {
        switch self {
        case .null: "None"
        case .bool(let b): b ? "True" : "False"
        case .integer(let i): String(i)
        case .number(let d): Self.number(d)
        case .string(let s): Self.pythonQuoted(s)
        case .array(let items): "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let members):
            "{"
                + members.keys.sorted().map { Self.pythonQuoted($0) + ": " + (members[$0] ?? .null).pythonRepr }
                .joined(separator: ", ") + "}"
        }
    }

    static func number(_ d: Double) -> String {
        d.isFinite ? String(d) : "null"
    }

    /// Core's JSON string literal, so the client and the server escape alike.
    static func quoted(_ s: String) -> String {
        JSONText.string(s)
    }

    static func pythonQuoted(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case quote: out += "\\" + String(quote)
            default: out.append(ch)
            }
        }
        out.append(quote)
        return out
    }

    /// A Python list repr of strings, e.g. `['a', 'b']` (the "Uploading refs to" line).
    static func pythonList(_ strings: [String]) -> String {
        JSON.array(strings.map(JSON.string)).pythonRepr
    }
}
