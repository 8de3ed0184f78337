import ArgumentParser

/// `delta-generator-client`: a remote static-delta worker for the 0.4.2 protocol (api.md §4.19–4.20).
@main
struct DeltaGeneratorClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delta-generator-client", abstract: "Generate static deltas for a flat-manager server.")

    func run() async throws {
        print("delta-generator-client: not implemented yet")
        throw ExitCode.failure
    }
}
