import Foundation
import PackagePlugin

/// Copies `docs/openapi.yaml` (the one source of the OpenAPI document) into the build as a resource of the target
/// it is applied to, so the server finds it in its resource bundle. SwiftPM copies a symbolic link in `Sources/`
/// as a link, which is why the file is not simply linked there.
@main
struct BundleOpenAPIDocument: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let source = context.package.directoryURL.appending(path: "docs/openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "openapi.yaml")
        return [
            .buildCommand(
                displayName: "Bundling docs/openapi.yaml",
                executable: URL(fileURLWithPath: "/bin/cp"),
                arguments: [source.path, output.path],
                inputFiles: [source],
                outputFiles: [output])
        ]
    }
}
