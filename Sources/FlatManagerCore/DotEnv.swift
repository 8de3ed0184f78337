import Foundation
import SystemPackage

/// The `.env` file upstream loads at start-up: `KEY=VALUE` lines, `#` comments, optional quotes and `export `.
public enum DotEnv {
    /// The variables of a `.env` text, in file order.
    public static func parse(_ text: String) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            if !key.isEmpty { result.append((key, value)) }
        }
        return result
    }

    /// The first `.env` file in `directory` or one of its parents.
    public static func find(from directory: FilePath) -> FilePath? {
        var url = URL(fileURLWithPath: directory.string).standardizedFileURL
        while true {
            let candidate = url.appendingPathComponent(".env").path
            if FileManager.default.isReadableFile(atPath: candidate) { return FilePath(candidate) }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return nil }
            url = parent
        }
    }
}
