import Foundation

extension FileManager {
    /// Creates a directory and its parents; an existing directory is fine.
    func makeDirectory(_ path: String) throws(JobError) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io("Cannot create \(path)", reason: error.localizedDescription)
        }
    }

    /// Writes a text file atomically.
    func writeText(_ text: String, to path: String) throws(JobError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .io("Cannot write \(path)", reason: error.localizedDescription)
        }
    }
}
