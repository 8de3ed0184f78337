import ArgumentParser
import FlatManagerCore
import NIOHTTP1

/// `create MANAGER_URL REPO [APP_ID]`: creates a build and prints its URL (client.md A.7.1).
struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a new build.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The flat-manager URL, e.g. http://127.0.0.1:8080.")
    var managerURL: String

    @Argument(help: "The repository to build for.")
    var repo: String

    @Argument(help: "The app id of the build.")
    var appID: String?

    @Flag(name: .customLong("public_download"), help: "Make the build repo downloadable without a token.")
    var publicDownload = false

    @Flag(name: .customLong("no_public_download"), help: "Require a token to download the build repo.")
    var noPublicDownload = false

    @Option(name: .customLong("build-log-url"), help: "A URL to the build log.")
    var buildLogURL: String?

    func validate() throws {
        if publicDownload && noPublicDownload {
            throw ValidationError("--public_download and --no_public_download cannot be used together")
        }
    }

    func run() async throws {
        let request = CreateBuildRequest(
            repo: repo, appID: appID, publicDownload: publicDownload ? true : (noPublicDownload ? false : nil),
            buildLogURL: buildLogURL)
        let url = URLs.join(managerURL, "api/v1/build")
        try await Runner.run("create", global) { session in
            // The result is the server's build JSON as it came, with `location` added (the client reads only the
            // header), so it stays upstream's object whatever Core's `Build` models.
            let (build, answer) = try await session.api.call(.POST, url, json: request)
            guard let location = answer.headers.first(name: "Location") else {
                throw ClientError.usage("No Location header in the answer from \(url)")
            }
            if !session.printOutput { Console.line(location) }
            return build.setting("location", .string(location))
        }
    }
}
