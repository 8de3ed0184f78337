import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under the system temporary directory, removed when the last reference goes away.
///
/// A class because the directory's lifetime is tied to the object's identity (removal in `deinit`).
/// Set FLAT_MANAGER_KEEP_TEST_DIRS=1 to keep the directories for a post-mortem.
package final class TempDirectory: Sendable {
    package let url: URL

    package init(prefix: String = "flat-manager-test") throws {
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
        if TestEnvironment.environment["FLAT_MANAGER_KEEP_TEST_DIRS"] != "1" {
            try? FileManager.default.removeItem(at: url)
        }
    }

    package var path: String { url.path }

    /// A path inside the directory (not created).
    package func appending(_ component: String) -> URL { url.appendingPathComponent(component) }
}

/// Runs `body` with the path of a fresh empty directory (a `TempDirectory`), removed when `body` has returned.
package func withTemporaryDirectory<T>(
    prefix: String = "flat-manager-test", _ body: (String) async throws -> T
) async throws -> T {
    let directory = try TempDirectory(prefix: prefix)
    defer { withExtendedLifetime(directory) {} }
    return try await body(directory.path)
}
