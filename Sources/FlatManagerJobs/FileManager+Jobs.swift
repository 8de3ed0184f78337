import FlatManagerCore
import Foundation

extension FileManager {
    /// Creates a directory and its parents; an existing directory is fine.
    func makeDirectory(_ path: String) throws(JobError) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw JobError("Cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Writes a text file atomically.
    func writeText(_ text: String, to path: String) throws(JobError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JobError("Cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// `{"refs": {...}}`-style JSON with the refs in the given order.
func refsJSON(_ refs: [(String, String)]) -> String {
    "{" + refs.map { "\(JSONText.string($0.0)):\(JSONText.string($0.1))" }.joined(separator: ",") + "}"
}
