import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under the system temporary directory, removed when the last reference goes away.
///
/// A class because the directory's lifetime is tied to the object's identity (removal in `deinit`).
/// Set FLAT_MANAGER_KEEP_TEST_DIRS=1 to keep the directories for a post-mortem.
final class TempDirectory: Sendable {
    let url: URL

    init(prefix: String = "flat-manager-test") throws {
        let base = FileManager.default.temporaryDirectory
        let template = base.appendingPathComponent("\(prefix).XXXXXX").path
        var bytes = Array(template.utf8CString)
        let created = bytes.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress, mkdtemp(base) != nil else { return nil }
            return String(cString: base)
        }
        guard let created else { throw TestSupportError.unexpected("mkdtemp failed for \(template)") }
        url = URL(fileURLWithPath: created, isDirectory: true)
    }

    deinit {
        if TestSupport.environment["FLAT_MANAGER_KEEP_TEST_DIRS"] != "1" {
            try? FileManager.default.removeItem(at: url)
        }
    }

    var path: String { url.path }

    /// A path inside the directory (not created).
    func appending(_ component: String) -> URL { url.appendingPathComponent(component) }
}
