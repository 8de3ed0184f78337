import ArgumentParser
import FlatManagerCore
import NIOHTTP1

/// `create-token MANAGER_URL NAME SUBJECT [SCOPE ...]`: mints a narrower token (client.md A.7.6).
struct CreateToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-token", abstract: "Create a subset token from the current one.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The flat-manager URL.")
    var managerURL: String

    @Argument(help: "The name of the new token.")
    var name: String

    @Argument(help: "The subject of the new token, e.g. build/42.")
    var subject: String

    @Argument(help: "The scopes of the new token.")
    var scope: [String] = []

    @Option(help: "Validity in seconds.")
    var duration: Int64 = 86_400

    func run() async throws {
        let request = TokenSubsetRequest(sub: subject, scope: scope, duration: duration, name: name)
        let url = URLs.join(managerURL, "api/v1/token_subset")
        try await Runner.run("create-token", global) { session in
            // The result is the server's answer as it came; the printed line is its token.
            let (result, answer) = try await session.api.call(.POST, url, json: request)
            let minted = try answer.decode(TokenResponse.self, from: url)
            if !session.printOutput { Console.line(minted.token) }
            return result
        }
    }
}
