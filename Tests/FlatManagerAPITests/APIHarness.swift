import FlatManagerAPI
import FlatManagerCore
import FlatManagerJobs
import FlatManagerMetrics
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import OSTree
import SystemPackage

@testable import FlatManagerServer

/// The server's own router (its composition root, `Composition`) over a real SQLite store in a temporary directory, with one repo `stable` (and `beta`), no socket.
struct APIHarness {
    let directory: String
    let config: Config
    let store: Store
    let composition: Composition
    let signer: TokenSigner

    static let secret = "c2VjcmV0"  // base64 of "secret", upstream's example

    static func make(extraConfig: String = "") async throws -> APIHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fm-api-\(UUID().uuidString)")
            .path
        for repo in ["repo", "beta-repo"] {
            try FileManager.default.createDirectory(
                atPath: "\(directory)/\(repo)/objects", withIntermediateDirectories: true)
            try "[core]\nrepo_version=1\nmode=archive-z2\n".write(
                toFile: "\(directory)/\(repo)/config", atomically: true, encoding: .utf8)
        }
        let json = """
            {"secret": "\(secret)", "build-repo-base": "builds", "base-url": "http://flat.example",
             "repos": {"stable": {"path": "repo", "collection-id": "org.test.Stable", "subsets": {}},
                       "beta": {"path": "beta-repo", "subsets": {}}}\(extraConfig)}
            """
        let config = try Config.parse(Data(json.utf8), file: "test-config.json", workingDirectory: FilePath(directory))
        var logger = Logger(label: "api-test")
        logger.logLevel = .warning
        let store = try await Store.open(databaseURL: nil, workingDirectory: FilePath(directory), logger: logger)
        try await store.migrate()
        let environment = JobEnvironment(
            store: store, config: config, runner: CommandRunner(), deltaRunner: CommandRunner(),
            exportedKeys: ExportedKeys(), logger: logger)
        let dispatcher = JobDispatcher(environment: environment, owner: "test:1:1")
        guard
            let composition = Composition(
                config: config, store: store, queue: dispatcher, metrics: dispatcher.metrics,
                deltaGenerator: environment.deltaGenerator, logger: logger),
            let signer = TokenSigner(base64Secret: secret)
        else { throw HarnessError.setup }
        return APIHarness(
            directory: directory, config: config, store: store, composition: composition, signer: signer)
    }

    enum HarnessError: Error { case setup }

    func close() async {
        try? await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A token with every scope for everything, unless narrowed.
    func token(
        sub: String = "build", scope: [String] = Scope.allCases.map(\.rawValue), prefixes: [String] = [""],
        repos: [String] = [""], exp: Int64? = nil, jti: String? = nil
    ) -> String {
        let claims = Claims(
            sub: sub, exp: exp ?? Int64(Date().timeIntervalSince1970) + 3600, name: "test", jti: jti, scope: scope,
            prefixes: prefixes, repos: repos, branches: ["stable"], tokenType: "app")
        return signer.sign(claims)
    }

    /// Runs `body` against the router.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = Application(router: composition.router)
        return try await app.test(.router, body)
    }
}

extension HTTPFields {
    static func bearer(_ token: String, json: Bool = true) -> HTTPFields {
        var fields: HTTPFields = [
            .authorization: "Bearer \(token)", HTTPField.Name("X-Forwarded-Host")!: "flat.example:8080",
        ]
        if json { fields[.contentType] = "application/json" }
        return fields
    }
}

extension TestResponse {
    /// The body decoded as upstream's error JSON, if it is one.
    var errorBody: ErrorBody? { try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer: body)) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(buffer: body)) }
}
