import Foundation
import NIOCore

/// The OpenAPI document served at `GET /openapi.yaml`: `docs/openapi.yaml`, shipped as the SwiftPM resource
/// `openapi.yaml` of this target (a symbolic link in `Resources/` to the one source in `docs/`).
///
/// SwiftPM's generated `Bundle.module` stops the process when the bundle is missing, so the document is looked up
/// here instead: in the resource bundle next to the executable (`swift build` puts it there, and the Dockerfile
/// installs it there), next to the executable a symbolic link resolves to, and in the main bundle. A missing
/// document is logged once at start-up and answered with 404; it never stops the server.
public enum OpenAPIDocument {
    /// The resource bundle's directory name on Linux: `<package>_<target>.resources`.
    static let bundleName = "flat-manager_FlatManagerAPI.resources"
    static let fileName = "openapi.yaml"

    /// The document's bytes, read once; `nil` when no candidate file exists.
    public static let contents: ByteBuffer? = {
        for path in candidatePaths() {
            if let data = FileManager.default.contents(atPath: path) {
                return ByteBuffer(bytes: data)
            }
        }
        return nil
    }()

    /// Where the document is looked for, in order.
    public static func candidatePaths() -> [String] {
        var directories: [String] = []
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        directories.append(executable.deletingLastPathComponent().path)
        directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent().path)
        directories.append(Bundle.main.bundleURL.path)
        var paths: [String] = []
        for directory in directories {
            let path = "\(directory)/\(bundleName)/\(fileName)"
            if !paths.contains(path) { paths.append(path) }
        }
        if let resources = Bundle.main.resourceURL?.appending(path: fileName).path, !paths.contains(resources) {
            paths.append(resources)
        }
        return paths
    }
}
