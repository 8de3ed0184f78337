import ArgumentParser
import AsyncHTTPClient
import FlatManagerCore
import Foundation
import NIOCore

/// What a subcommand works with: the API, the job follower and the global options.
struct Session: Sendable {
    let api: API
    let follower: JobFollower
    let printOutput: Bool
    let settings: Settings
}

/// Runs one subcommand: resolves the token, sets up HTTP, turns the result or error into output and exit status.
enum Runner {
    static func run(
        _ command: String, _ global: GlobalOptions, _ body: @Sendable (Session) async throws -> JSON
    ) async throws {
        // The one place the client reads its environment (the process entry point in all but name).
        let settings = Settings(environment: ProcessInfo.processInfo.environment)
        guard let token = resolveToken(global, settings: settings) else {
            Console.line("No token available, pass with --token, --token-file or $REPO_TOKEN")
            throw ExitCode.failure
        }
        try checkExpiry(of: token)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration())
        let log = Log(verbose: global.verbose, debug: global.debug)
        let api = API(
            http: http, token: token,
            retry: RetryPolicy(cap: settings.retryCap, budget: settings.retryBudget, log: log), log: log)
        let session = Session(
            api: api, follower: JobFollower(api: api, pollScale: settings.pollScale), printOutput: global.printOutput,
            settings: settings)
        let outcome: Result<JSON, any Error>
        do {
            outcome = .success(try await body(session))
        } catch {
            outcome = .failure(error)
        }
        try? await http.shutdown()
        switch outcome {
        case .success(let result):
            try write(.object(["command": .string(command), "result": result]), global)
        case .failure(let error):
            let clientError = classify(error)
            Console.error(clientError.stderrLine(command: command))
            try? write(.object(["command": .string(command), "error": clientError.outputJSON]), global)
            throw ExitCode.failure
        }
    }

    /// Enough pooled connections per host for the parallel uploads; redirects are never part of the protocol.
    static func httpConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        return configuration
    }

    /// `--token`, else the first line of `--token-file`, else `REPO_TOKEN`.
    static func resolveToken(_ global: GlobalOptions, settings: Settings) -> String? {
        if let token = global.token { return token }
        if let file = global.tokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            let line = text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
            return line.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return settings.environmentToken
    }

    /// 0.5's pre-check: refuse an expired JWT before any request; warn when it expires within 30 days.
    static func checkExpiry(of token: String, now: Date = Date()) throws {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]), let claims = JSON(data: payload),
            let exp = claims["exp"]?.intValue
        else { return }
        let remaining = Double(exp) - now.timeIntervalSince1970
        if remaining < 0 {
            Console.error("Token expired at \(formatUTC(exp)) UTC. Request a new token.")
            throw ExitCode.failure
        }
        if remaining < 30 * 86_400 {
            Console.error("Warning: token expires at \(formatUTC(exp)) UTC, in \(Int(remaining / 86_400)) days.")
        }
    }

    static func formatUTC(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
    }

    static func classify(_ error: any Error) -> ClientError {
        if let clientError = error as? ClientError { return clientError }
        if error is DecodingError { return .exception(type: "json", message: String(describing: error)) }
        if error is HTTPClientError { return .exception(type: "http", message: String(describing: error)) }
        return .exception(type: String(describing: type(of: error)), message: String(describing: error))
    }

    static func write(_ output: JSON, _ global: GlobalOptions) throws {
        let text = output.pretty() + "\n"
        if let path = global.output {
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                Console.error("Cannot write \(path): \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }
        if global.printOutput { Console.write(text) }
    }
}
