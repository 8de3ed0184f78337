import ArgumentParser
import FlatManagerCore
import NIOHTTP1

/// `prune MANAGER_URL REPO` (0.5): queues a prune job for a repository.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Prune unreferenced objects from a repository.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The flat-manager URL.")
    var managerURL: String

    @Argument(help: "The repository to prune.")
    var repo: String

    func run() async throws {
        let url = URLs.join(managerURL, "api/v1/prune")
        try await Runner.run("prune", global) { session in
            // The job the server answered with is the result as it came; the client reads nothing of it.
            try await session.api.call(.POST, url, json: PruneRequest(repo: repo)).json
        }
    }
}
