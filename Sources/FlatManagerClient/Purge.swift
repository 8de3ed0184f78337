import ArgumentParser
import FlatManagerCore
import Foundation
import NIOHTTP1

/// `purge BUILD_URL`: removes a build that is not published (client.md A.7.5; 0.5's tolerant answers).
struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Purge a build.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The build URL.")
    var buildURL: String

    func run() async throws {
        let build = URLs.trimmed(buildURL)
        try await Runner.run("purge", global) { session in
            Console.line("Purging build \(build)")
            do {
                // The server's answer is the result as it sent it; the client reads nothing of it.
                return try await session.api.call(.POST, build + "/purge", body: .json(Data("{}".utf8))).json
            } catch ClientError.api(_, 404, _) {
                return .object(["status": .string("build not found")])
            } catch ClientError.api(_, 400, let details)
                where ErrorBody(details: details)?.message == "Can't prune build while in use"
            {
                return .object([:])
            }
        }
    }
}
