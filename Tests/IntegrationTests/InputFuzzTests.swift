import FlatManagerCore
import Foundation
import TestSupport
import Testing

/// A seeded property test against the real `flat-manager` process: thousands of requests, each with hostile values
/// (integer boundaries, huge and odd strings, wrong types, deep nesting, broken JSON) in the JSON fields of every
/// `/api/v1` operation that takes JSON and in the claims of correctly signed tokens. The property: every request is
/// answered (a crash shows as a closed connection), none with a 5xx, and the process serves `/status` after every
/// batch. The seed is fixed, so a failure repeats; the failing request is printed with the answer.
@Suite("Hostile input fuzzing", .enabled(if: TestEnvironment.hasOSTree))
struct InputFuzzTests {
    static let seed: UInt64 = 20_261_205
    static let cases = 3_000
    static let batch = 100

    @Test(
        "thousands of hostile request bodies and token claims are answered with no 5xx and the server keeps serving",
        arguments: TestEnvironment.databases)
    func hostileBodiesAndClaimsNeverCrashTheServer(database: DatabaseKind) async throws {
        try await withTestServer(database: database) { server in
            // Arrange
            let fixture = try await FuzzFixture(server: server)
            var random = SeededRandom(seed: Self.seed)
            var failures: [String] = []
            var statuses: [Int: Int] = [:]

            for index in 0..<Self.cases {
                // Act
                let request = fixture.randomRequest(&random)
                let answer: RawRequest.Answer
                do {
                    answer = try RawRequest.send(
                        port: server.port, request.method, request.path, token: request.token,
                        body: request.body.map { Data($0.utf8) }, contentType: request.contentType)
                } catch {
                    // Nobody listens any more: an earlier request of this batch killed the process.
                    failures.append("case \(index): cannot connect (\(error)); the server is gone")
                    break
                }

                // Assert
                statuses[answer.status, default: 0] += 1
                if answer.status == 0 || answer.status >= 500 {
                    failures.append(
                        "case \(index): \(request.method) \(request.path) body \(request.body?.prefix(300) ?? "none") "
                            + "claims \(request.claims?.prefix(300) ?? "admin") → \(answer.status) \(answer.body.prefix(300))"
                    )
                }
                if (index + 1) % Self.batch == 0 {
                    let answering = await server.isAnswering()
                    #expect(answering, "the server stopped serving after case \(index)")
                    if !answering { break }
                }
            }
            #expect(
                failures.isEmpty,
                "\(failures.count) requests crashed or got a 5xx:\n\(failures.prefix(20).joined(separator: "\n"))")
            #expect(await server.isAnswering(), "the server stopped answering GET /status")
            // The values reached past decoding and authorisation, not only into refusals.
            for status in [200, 400, 401, 403, 404] {
                #expect(statuses[status, default: 0] > 0, "no \(status) among \(statuses.sorted { $0.key < $1.key })")
            }
        }
    }
}

/// A JSON document with hostile values spliced in: a node is raw JSON text, or an object or array of nodes.
indirect enum FuzzJSON {
    case raw(String)
    case object([(String, FuzzJSON)])
    case array([FuzzJSON])

    var text: String {
        switch self {
        case .raw(let text): text
        case .object(let members):
            "{" + members.map { JSONText.string($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        case .array(let items): "[" + items.map(\.text).joined(separator: ",") + "]"
        }
    }

    /// Paths to every node below the root (object keys and array indices).
    var paths: [[String]] {
        switch self {
        case .raw: []
        case .object(let members): members.flatMap { key, value in [[key]] + value.paths.map { [key] + $0 } }
        case .array(let items):
            items.indices.flatMap { index in [["\(index)"]] + items[index].paths.map { ["\(index)"] + $0 } }
        }
    }

    /// The document with the node at `path` replaced (`nil` removes an object member or array item).
    func replacing(_ path: [String], with node: FuzzJSON?) -> FuzzJSON {
        guard let head = path.first else { return node ?? self }
        let rest = Array(path.dropFirst())
        switch self {
        case .raw:
            return self
        case .object(let members):
            return .object(
                members.compactMap { key, value in
                    guard key == head else { return (key, value) }
                    if rest.isEmpty { return node.map { (key, $0) } }
                    return (key, value.replacing(rest, with: node))
                })
        case .array(let items):
            return .array(
                items.indices.compactMap { index in
                    guard "\(index)" == head else { return items[index] }
                    if rest.isEmpty { return node }
                    return items[index].replacing(rest, with: node)
                })
        }
    }

    /// An object with one more member (an unknown key, which must be ignored).
    func adding(_ key: String, _ node: FuzzJSON) -> FuzzJSON {
        guard case .object(let members) = self else { return self }
        return .object(members + [(key, node)])
    }
}

/// The server's builds, jobs and tokens the fuzzed requests aim at, and how one random request is made.
struct FuzzFixture {
    /// One fuzzed request.
    struct Request {
        var method: String
        var path: String
        var token: String
        var body: String?
        var contentType = "application/json"
        /// The claims JSON when the token was fuzzed (for the failure message).
        var claims: String?
    }

    /// One `/api/v1` operation: method, path, which token passes its sub check, and a valid body.
    struct Operation {
        var method: String
        var path: String
        var management: Bool
        var body: FuzzJSON?
    }

    let operations: [Operation]
    /// `POST .../upload` of the build that stays uploading: multipart bodies with hostile names and headers.
    let uploadPath: String
    let adminToken: String
    let managementToken: String
    let now = Int64(Date().timeIntervalSince1970)

    init(server: TestServer) async throws {
        adminToken = server.adminToken
        managementToken = try Management.token(sub: "", scope: ["tokenmanagement"])
        let uploading = try await Self.createBuild(on: server)
        let (committed, job) = try await TrapTests.committedBuild(on: server)
        let purged = try await Self.createBuild(on: server)
        uploadPath = "/api/v1/build/\(uploading)/upload"
        let checksum = String(repeating: "ab", count: 32)
        func s(_ text: String) -> FuzzJSON { .raw(JSONText.string(text)) }
        func strings(_ texts: [String]) -> FuzzJSON { .array(texts.map(s)) }
        let offset = FuzzJSON.object([("log-offset", .raw("0"))])
        operations = [
            Operation(
                method: "POST", path: "/api/v1/tokens/get_list", management: true,
                body: .object([("token_ids", strings(["fuzz-a", "fuzz-b"]))])),
            Operation(
                method: "POST", path: "/api/v1/tokens/revoke", management: true,
                body: .object([("token_ids", strings(["fuzz-revoked"]))])),
            Operation(
                method: "POST", path: "/api/v1/token_subset", management: false,
                body: .object([
                    ("sub", s("build/\(uploading)")), ("scope", strings(["upload"])), ("duration", .raw("3600")),
                    ("name", s("fuzz")), ("prefixes", strings(["org.test"])), ("apps", strings(["org.test.Hello"])),
                    ("repos", strings(["stable"])),
                ])),
            Operation(method: "GET", path: "/api/v1/job/\(job)", management: false, body: offset),
            Operation(
                method: "POST", path: "/api/v1/job/\(job)/check/review", management: false,
                body: .object([
                    ("new-status", .object([("status", s("Failed")), ("reason", s("fuzz"))])),
                    ("new-results", s("results")),
                ])),
            Operation(
                method: "POST", path: "/api/v1/build", management: false,
                body: .object([
                    ("repo", s("stable")), ("app-id", s("org.test.Hello")), ("public-download", .raw("true")),
                    ("build-log-url", s("https://ci.example.org/1")),
                ])),
            Operation(method: "GET", path: "/api/v1/build/\(uploading)/extended", management: false, body: nil),
            Operation(
                method: "POST", path: "/api/v1/build/\(uploading)/build_ref", management: false,
                body: .object([
                    ("ref", s("app/org.test.Hello/x86_64/stable")), ("commit", s(checksum)),
                    ("build-log-url", .raw("null")),
                ])),
            Operation(
                method: "GET", path: "/api/v1/build/\(uploading)/missing_objects", management: false,
                body: .object([("wanted", strings(["\(checksum).dirtree", "\(checksum).filez"]))])),
            Operation(
                method: "POST", path: "/api/v1/build/\(uploading)/add_extra_ids", management: false,
                body: .object([("ids", strings(["Free", "Sub.Set"]))])),
            Operation(
                method: "POST", path: "/api/v1/build/\(committed)/commit", management: false,
                body: .object([
                    ("endoflife", .raw("null")), ("endoflife_rebase", .raw("null")), ("token_type", .raw("1")),
                ])),
            Operation(method: "GET", path: "/api/v1/build/\(committed)/commit", management: false, body: offset),
            Operation(method: "POST", path: "/api/v1/build/\(committed)/publish", management: false, body: .object([])),
            Operation(method: "GET", path: "/api/v1/build/\(committed)/publish", management: false, body: offset),
            Operation(
                method: "GET", path: "/api/v1/build/\(committed)/check/lint/job", management: false, body: offset),
            Operation(method: "POST", path: "/api/v1/build/\(purged)/purge", management: false, body: .object([])),
            // An unknown repo: the body is decoded and checked in full, but no republish job is queued.
            Operation(
                method: "POST", path: "/api/v1/repo/fuzz-nowhere/republish", management: false,
                body: .object([
                    ("app", s("org.test.Hello")), ("endoflife", .raw("null")), ("endoflife_rebase", .raw("null")),
                ])),
            Operation(
                method: "POST", path: "/api/v1/prune", management: true, body: .object([("repo", s("no-such-repo"))])),
        ]
    }

    /// A random operation with a mutated body, and now and then a mutated token or a query parameter.
    func randomRequest(_ random: inout SeededRandom) -> Request {
        if random.chance(0.05) { return randomUpload(&random) }
        let operation = random.pick(operations)
        var request = Request(
            method: operation.method, path: operation.path,
            token: operation.management ? managementToken : adminToken, body: operation.body?.text)
        if let body = operation.body {
            request.body = random.chance(0.08) ? random.pick(HostileValue.wholeBodies) : mutate(body, &random).text
        }
        if random.chance(0.25) {
            let claims = fuzzedClaims(management: operation.management, &random)
            request.claims = claims.text
            request.token = (TokenSigner(base64Secret: TestServer.base64Secret)?.sign(payloadJSON: claims.text)) ?? ""
        }
        if operation.method == "GET", random.chance(0.2) {
            let value = random.pick(HostileValue.numbers + HostileValue.strings.filter { $0.utf8.count < 1_000 })
            let key = random.chance(0.5) ? "log-offset" : "app-id"
            let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            request.path += "?\(key)=\(encoded)"
        }
        return request
    }

    /// A multipart upload whose file name, disposition, boundary or content is hostile.
    func randomUpload(_ random: inout SeededRandom) -> Request {
        let checksum = String(repeating: "cd", count: 32)
        let names = [
            "\(checksum).dirtree", "\(checksum).filez", "\(checksum).commitmeta", "../../\(checksum).dirtree",
            String(repeating: "A", count: 43) + ".superblock.delta",
            String(repeating: "A", count: 43) + ".99999999999999999999.delta",
            "x\u{0}y", "\u{e9}\u{4e2d}", "", String(repeating: "n", count: 20_000),
        ]
        let boundary = random.pick(["b0undary", String(repeating: "b", count: 8_000), "\"quoted;b\"", "-", "\u{e9}"])
        let disposition = random.pick([
            "form-data; name=\"file0\"; filename=\"\(random.pick(names))\"", "attachment; filename*=UTF-8''%00%2e%2e",
            "attachment; filename=\"unterminated", "attachment", "",
        ])
        let content = random.pick(["", "abc", String(repeating: "\u{0}", count: 1_000), random.pick(HostileValue.all)])
        let body =
            "--\(boundary)\r\nContent-Disposition: \(disposition)\r\nContent-Type: application/octet-stream\r\n\r\n"
            + content + "\r\n--\(boundary)" + (random.chance(0.8) ? "--\r\n" : "")
        return Request(
            method: "POST", path: uploadPath, token: adminToken, body: body,
            contentType: "multipart/form-data; boundary=\(boundary)")
    }

    /// One to three changes: a node replaced by a hostile value, removed, or an unknown member added.
    func mutate(_ document: FuzzJSON, _ random: inout SeededRandom) -> FuzzJSON {
        var document = document
        for _ in 0..<(1 + Int(random.next() % 3)) {
            let paths = document.paths
            if paths.isEmpty || random.chance(0.1) {
                document = document.adding("fuzz-\(random.next() % 1000)", .raw(random.pick(HostileValue.all)))
            } else if random.chance(0.1) {
                document = document.replacing(random.pick(paths), with: nil)
            } else {
                document = document.replacing(random.pick(paths), with: .raw(random.pick(HostileValue.all)))
            }
        }
        return document
    }

    /// Valid claims for the operation, with one or two claims (known or not) replaced or removed.
    func fuzzedClaims(management: Bool, _ random: inout SeededRandom) -> FuzzJSON {
        func s(_ text: String) -> FuzzJSON { .raw(JSONText.string(text)) }
        let scopes = [
            "build", "upload", "download", "publish", "jobs", "generate", "republish", "reviewcheck", "tokenmanagement",
        ]
        var claims = FuzzJSON.object([
            ("sub", s(management ? "" : "build")), ("exp", .raw("\(now + 3600)")), ("name", s("fuzz")),
            ("jti", s("fuzz-jti-\(random.next() % 4)")), ("scope", .array(scopes.map(s))),
            ("prefixes", .array([s("")])),
            ("apps", .array([])), ("repos", .array([s("")])), ("branches", .array([s("")])), ("token_type", s("app")),
            ("iat", .raw("\(now)")), ("nbf", .raw("\(now)")),
        ])
        let names = [
            "sub", "exp", "name", "jti", "scope", "prefixes", "apps", "repos", "branches", "token_type", "iat", "nbf",
        ]
        for _ in 0..<(1 + Int(random.next() % 2)) {
            let name = random.pick(names + ["aud", "iss"])
            let value = FuzzJSON.raw(random.pick(HostileValue.claimValues))
            if random.chance(0.1) {
                claims = claims.replacing([name], with: nil)
            } else if names.contains(name) {
                claims = claims.replacing([name], with: value)
            } else {
                claims = claims.adding(name, value)
            }
        }
        return claims
    }

    /// A public build in `stable`, made with the admin token; its id.
    static func createBuild(on server: TestServer) async throws -> Int32 {
        let response = try await HTTP.postJSON(
            server.url("/api/v1/build"), CreateBuildRequest(repo: "stable"), token: server.adminToken)
        return try JSONDecoder().decode(Build.self, from: response.body).id
    }
}
