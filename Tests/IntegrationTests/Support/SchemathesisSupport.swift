import Foundation
import TestSupport

extension TestEnvironment {
    /// Where scripts/install-deps.sh --test installs schemathesis (a pinned version in its own venv);
    /// `FLAT_MANAGER_SCHEMATHESIS` may name another `schemathesis` executable.
    static let defaultSchemathesis = "/opt/flat-manager-test-venv/bin/schemathesis"

    /// The `schemathesis` executable the generated OpenAPI conformance test runs.
    static var schemathesisPath: String {
        guard let path = environment["FLAT_MANAGER_SCHEMATHESIS"], !path.isEmpty else { return defaultSchemathesis }
        return path
    }

    /// Condition for the schemathesis test; like `hasOSTree`, always true under FLAT_MANAGER_REQUIRE_ALL_TESTS so
    /// that a missing installation fails (in `requireSchemathesis`) instead of skipping.
    static var hasSchemathesis: Bool {
        requiresAllTests || FileManager.default.isExecutableFile(atPath: schemathesisPath)
    }

    /// Throws unless the `schemathesis` executable is present; returns it.
    static func requireSchemathesis() throws -> URL {
        guard FileManager.default.isExecutableFile(atPath: schemathesisPath) else {
            throw TestSupportError.missingPrerequisite("schemathesis (\(schemathesisPath))")
        }
        return URL(fileURLWithPath: schemathesisPath)
    }
}

/// Runs schemathesis against a running server, with the hooks below.
enum Schemathesis {
    /// The ids of resources that exist on the server, which the hooks substitute for most generated path ids so
    /// that generated requests reach the handlers' real logic instead of stopping at "not found".
    struct KnownIDs: Codable {
        var build: [Int]
        var job: [Int]
        var ref: [Int]
    }

    /// The checks every generated response is held to: no 5xx, a documented status, a documented content type,
    /// a body valid against the documented schema, documented headers valid, 405 with `Allow` for a method the
    /// path does not serve, and a 4xx for a request the document calls invalid.
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance", "unsupported_method", "negative_data_rejection",
    ]

    /// The token of each operation path prefix: `/` (sub `build`) for most, `/tokens/` (sub "", api.md §4.1) and
    /// `/delta/` (sub `delta`, api.md §4.19) for the routes that demand exactly those subjects.
    struct Tokens: Codable {
        var build: String
        var tokenManagement: String
        var delta: String

        enum CodingKeys: String, CodingKey {
            case build = "/"
            case tokenManagement = "/tokens/"
            case delta = "/delta/"
        }
    }

    /// `schemathesis run` over the document with a fixed seed and a bounded number of examples per operation.
    /// Returns the command line and the process result (status 0: every check passed).
    static func run(
        document: URL, server: TestServer, tokens: Tokens, known: KnownIDs, excludedPaths: [String],
        maxExamples: Int, seed: Int
    ) async throws -> (command: String, result: ProcessResult) {
        let executable = try TestEnvironment.requireSchemathesis()
        let directory = try TempDirectory(prefix: "flat-manager-schemathesis")
        try Data(hooks.utf8).write(to: directory.appending("flat_manager_hooks.py"))
        let arguments =
            [
                "run", document.path, "--url", server.url("/api/v1").absoluteString, "--checks",
                checks.joined(separator: ","), "--phases", "examples,coverage,fuzzing", "--max-examples",
                String(maxExamples), "--seed", String(seed), "--workers", "1", "--generation-database", "none",
                "--generation-with-security-parameters", "false", "--request-timeout", "30", "--no-color",
            ] + excludedPaths.flatMap { ["--exclude-path", $0] }
        var environment = TestEnvironment.environment
        environment["SCHEMATHESIS_HOOKS"] = "flat_manager_hooks"
        environment["PYTHONPATH"] = directory.url.path
        environment["FLAT_MANAGER_TOKENS"] = String(decoding: try JSONEncoder().encode(tokens), as: UTF8.self)
        environment["FLAT_MANAGER_KNOWN_IDS"] = String(decoding: try JSONEncoder().encode(known), as: UTF8.self)
        environment["NO_COLOR"] = "1"
        let result = try await ProcessRunner.run(
            executable, arguments, environment: environment, currentDirectory: directory.url,
            timeout: .seconds(600))
        return (([executable.path] + arguments).joined(separator: " "), result)
    }

    /// A schemathesis hooks module (loaded through SCHEMATHESIS_HOOKS). Before each call it
    /// - keeps `{id}`/`{ref_id}` 32-bit integers: any other value makes upstream's route not match, answered with
    ///   404 and an empty body (api.md §1.1), which OpenAPI cannot describe next to the JSON `not-found` of the same
    ///   status; such values become 2147483647 (a valid id of nothing, so the JSON 404 is still exercised). The
    ///   empty 404 itself is covered by
    ///   APIRouterTests;
    /// - maps three of four in-range ids onto ids that exist (the rest mostly name nothing), and three of four
    ///   repository names (path or body) onto `stable`, the one configured repository;
    /// - sets the Authorization header from `Tokens`.
    static let hooks = #"""
        import json, os
        import schemathesis

        INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
        KNOWN = json.loads(os.environ["FLAT_MANAGER_KNOWN_IDS"])
        TOKENS = json.loads(os.environ["FLAT_MANAGER_TOKENS"])


        def known_ids(path, name):
            if name == "ref_id":
                return KNOWN["ref"]
            return KNOWN["job"] if path.startswith("/job/") else KNOWN["build"]


        @schemathesis.hook
        def before_call(context, case, kwargs):
            path = case.operation.path
            parameters = case.path_parameters or {}
            for name in ("id", "ref_id"):
                if name not in parameters:
                    continue
                value = parameters[name]
                if isinstance(value, bool) or not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX:
                    parameters[name] = INT32_MAX
                elif value % 4 != 3:
                    known = known_ids(path, name)
                    parameters[name] = known[value % len(known)]
            if isinstance(parameters.get("repo"), str) and len(parameters["repo"]) % 4 != 3:
                parameters["repo"] = "stable"
            if isinstance(case.body, dict) and isinstance(case.body.get("repo"), str) and len(case.body["repo"]) % 4 != 3:
                case.body["repo"] = "stable"
            token = TOKENS["/tokens/" if path.startswith("/tokens/") else "/delta/" if path.startswith("/delta/") else "/"]
            case.headers = dict(case.headers or {})
            case.headers["Authorization"] = "Bearer " + token
        """#
}
