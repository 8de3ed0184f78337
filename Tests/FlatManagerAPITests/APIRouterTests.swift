import CompressNIO
import FlatManagerAPI
import FlatManagerCore
import FlatManagerStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SystemPackage
import Testing

@Suite("The API router")
struct APIRouterTests {
    @Test("rejects requests without a token, with a bad signature or expired, with upstream's JSON")
    func rejectsBadTokens() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let badSigner = TokenSigner(key: Data("other".utf8))
        let forged = badSigner.sign(Claims(sub: "build", exp: Int64(Date().timeIntervalSince1970) + 60))
        let expired = harness.token(exp: Int64(Date().timeIntervalSince1970) - 10)
        let results = try await harness.test { client in
            var out: [(HTTPResponse.Status, ErrorBody?)] = []
            for headers: HTTPFields in [[:], .bearer(forged), .bearer(expired), [.authorization: "Basic abcdefgh"]] {
                let response = try await client.execute(uri: "/api/v1/build", method: .get, headers: headers)
                out.append((response.status, response.errorBody))
            }
            return out.map { "\($0.0.code) \($0.1?.errorType ?? "-") \($0.1?.message ?? "-")" }
        }
        #expect(
            results == [
                "401 invalid-token No Authorization header", "401 invalid-token Invalid token claims",
                "401 invalid-token Token is expired", "401 invalid-token Token scheme is not Bearer",
            ])
    }

    @Test("answers 404 for an unknown API path only after the token is accepted")
    func unknownPathsNeedAToken() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let token = harness.token()
        let statuses = try await harness.test { client in
            let without = try await client.execute(uri: "/api/v1/nothing", method: .get)
            let with = try await client.execute(uri: "/api/v1/nothing", method: .get, headers: .bearer(token))
            return [without.status.code, with.status.code]
        }
        #expect(statuses == [401, 404])
    }

    @Test("answers a known path asked with another method with 405, Allow and an empty body, after the token")
    func otherMethodsOfAKnownPathAre405() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let token = harness.token()

        // Act
        let answers = try await harness.test { client in
            var answers: [String] = []
            for (method, uri, headers): (HTTPRequest.Method, String, HTTPFields) in [
                (.delete, "/api/v1/build/1", .bearer(token)), (.put, "/api/v1/build", .bearer(token)),
                (.put, "/api/v1/build/1/commit", .bearer(token)), (.delete, "/api/v1/build/x", .bearer(token)),
                (.delete, "/api/v1/build/1", [:]), (.post, "/status", [:]),
                (HTTPRequest.Method("QUERY") ?? .trace, "/metrics", [:]),
            ] {
                let response = try await client.execute(uri: uri, method: method, headers: headers)
                answers.append(
                    "\(response.status.code) \(response.headers[.allow] ?? "-") \(response.body.readableBytes)")
            }
            return answers
        }

        // Assert
        #expect(
            answers == [
                "405 GET 0", "405 GET, POST 0", "405 GET, POST 0", "405 GET 0", "401 - 79", "405 GET 0", "405 GET 0",
            ])
    }

    @Test("answers an id that is not a 32-bit integer with 404, an empty body and no content type, before any check")
    func idsOutsideInt32AreEmpty404s() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let token = harness.token()
        let weakToken = harness.token(scope: ["download"])

        // Act
        let answers = try await harness.test { client in
            var answers: [String] = []
            for uri in ["/api/v1/job/x", "/api/v1/build/1/build_ref/x"] {
                let response = try await client.execute(uri: uri, method: .get, headers: .bearer(weakToken))
                answers.append(
                    "\(response.status.code) \(response.headers[.contentType] ?? "-") \(response.body.readableBytes)")
            }
            for uri in [
                "/api/v1/build/x", "/api/v1/build/2147483648", "/api/v1/job/1.5",
                "/api/v1/build/1/build_ref/-2147483649",
            ] {
                let response = try await client.execute(uri: uri, method: .get, headers: .bearer(token))
                answers.append(
                    "\(response.status.code) \(response.headers[.contentType] ?? "-") \(response.body.readableBytes)")
            }
            return answers
        }

        // Assert
        #expect(answers == ["404 - 0", "404 - 0", "404 - 0", "404 - 0", "404 - 0", "404 - 0"])
    }

    @Test("refuses a negative log-offset in a job GET body with a plain-text 400, as upstream's unsigned offset")
    func negativeLogOffsetIsRefused() async throws {
        // Arrange
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let token = harness.token()

        // Act
        let answers = try await harness.test { client in
            _ = try await client.execute(
                uri: "/api/v1/build/\(build.id)/commit", method: .post, headers: .bearer(token),
                body: ByteBuffer(string: "{}"))
            var answers: [String] = []
            for (uri, body) in [
                ("/api/v1/build/\(build.id)/commit", #"{"log-offset":-1}"#), ("/api/v1/job/1", #"{"log-offset":-5}"#),
                ("/api/v1/job/1", #"{"log-offset":0}"#), ("/api/v1/job/1", #"{"log-offset":null}"#),
            ] {
                let response = try await client.execute(
                    uri: uri, method: .get, headers: .bearer(token), body: ByteBuffer(string: body))
                answers.append("\(response.status.code) \(response.headers[.contentType] ?? "-")")
            }
            return answers
        }

        // Assert
        #expect(
            answers == [
                "400 text/plain; charset=utf-8", "400 text/plain; charset=utf-8", "200 application/json",
                "200 application/json",
            ])
    }

    @Test("creates a build with an absolute Location and its two repositories")
    func createsBuild() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let token = harness.token()
        let (status, location, build) = try await harness.test { client in
            let response = try await client.execute(
                uri: "/api/v1/build", method: .post, headers: .bearer(token),
                body: ByteBuffer(string: #"{"repo":"stable","app-id":"org.test.Hello"}"#))
            return (response.status, response.headers[.location], try? response.decode(Build.self))
        }
        #expect(status == .ok)
        let created = try #require(build)
        #expect(location == "http://flat.example:8080/api/v1/build/\(created.id)")
        #expect(created.appID == "org.test.Hello")
        #expect(created.publicDownload == false)
        #expect(created.tokenName == "test")
        let buildDir = "\(harness.config.buildRepoBase)/\(created.id)"
        let config = try String(contentsOfFile: buildDir + "/config", encoding: .utf8)
        #expect(config.contains("collection-id=org.test.Stable.Build\(created.id)"))
        #expect(FileManager.default.fileExists(atPath: buildDir + "/upload/objects"))
    }

    @Test("refuses other repos, unknown repos and malformed JSON with the right status")
    func refusesBadCreates() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let betaOnly = harness.token(repos: ["beta"])
        let admin = harness.token()
        let codes = try await harness.test { client in
            var codes: [String] = []
            for (token, body) in [
                (betaOnly, #"{"repo":"stable"}"#), (admin, #"{"repo":"nope"}"#), (admin, #"{"repo":"#),
                (admin, #"{"app-id":"x"}"#),
            ] {
                let response = try await client.execute(
                    uri: "/api/v1/build", method: .post, headers: .bearer(token), body: ByteBuffer(string: body))
                codes.append("\(response.status.code) \(response.errorBody?.message ?? "plain")")
            }
            return codes
        }
        #expect(
            codes == [
                "403 Not enough permissions: Not matching repo in token", "400 No such repo", "400 plain", "400 plain",
            ])
    }

    @Test("upserts build refs and validates ref names and prefixes")
    func buildRefs() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let token = harness.token()
        let narrow = harness.token(prefixes: ["org.other"])
        let commit = String(repeating: "ab", count: 32)
        let results = try await harness.test { client in
            var results: [String] = []
            for (token, ref) in [
                (token, "app/org.test.Hello/x86_64/stable"), (token, "app/org.test.Hello/x86_64/stable"),
                (token, "app/org.test.Hello/x86_64"), (narrow, "runtime/org.test.Hello.Locale/x86_64/stable"),
            ] {
                let response = try await client.execute(
                    uri: "/api/v1/build/\(build.id)/build_ref", method: .post, headers: .bearer(token),
                    body: ByteBuffer(string: #"{"ref":"\#(ref)","commit":"\#(commit)"}"#))
                let id =
                    (try? response.decode(BuildRef.self)).map { "id\($0.id)" } ?? response.errorBody?.message ?? "?"
                results.append("\(response.status.code) \(id)")
            }
            return results
        }
        #expect(results[0] == results[1])
        #expect(results[0].hasPrefix("200 id"))
        #expect(results[2] == "400 Invalid ref_name app/org.test.Hello/x86_64")
        #expect(results[3] == "403 Not enough permissions: Id org.test.Hello.Locale not matching prefix in token")
    }

    @Test("answers missing_objects from a gzip-compressed GET body")
    func missingObjects() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        try FileManager.default.createDirectory(
            atPath: "\(harness.config.buildRepoBase)/\(build.id)/upload/objects/aa", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: "\(harness.config.buildRepoBase)/\(build.id)/parent",
            withDestinationPath: harness.config.repos["stable"]?.path.string ?? "")
        let present = String(repeating: "a", count: 64) + ".dirtree"
        let absent = String(repeating: "b", count: 64) + ".filez"
        _ = FileManager.default.createFile(
            atPath: "\(harness.config.buildRepoBase)/\(build.id)/upload/objects/aa/\(present.dropFirst(2))",
            contents: Data())
        var json = ByteBuffer(string: #"{"wanted":["\#(present)","\#(absent)"]}"#)
        let gzipped = try json.compress(with: .gzip())
        var gzipHeaders = HTTPFields.bearer(harness.token())
        gzipHeaders[.contentEncoding] = "gzip"
        let headers = gzipHeaders
        let missing = try await harness.test { client in
            let response = try await client.execute(
                uri: "/api/v1/build/\(build.id)/missing_objects", method: .get, headers: headers, body: gzipped)
            return try response.decode(MissingObjectsResponse.self).missing
        }
        #expect(missing == [absent])
    }

    @Test("starts a commit once and reports the state on a second attempt")
    func commitStateMachine() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let build = try await harness.store.createBuild(
            repo: "stable", appID: nil, publicDownload: true, buildLogURL: nil, tokenName: "t", tokenType: nil,
            tokenBranches: nil)
        let token = harness.token()
        let results = try await harness.test { client in
            var results: [String] = []
            let publishEarly = try await client.execute(
                uri: "/api/v1/build/\(build.id)/publish", method: .post, headers: .bearer(token),
                body: ByteBuffer(string: "{}"))
            results.append("\(publishEarly.status.code) \(publishEarly.errorBody?.currentState ?? "-")")
            for _ in 0..<2 {
                let response = try await client.execute(
                    uri: "/api/v1/build/\(build.id)/commit", method: .post, headers: .bearer(token),
                    body: ByteBuffer(string: #"{"endoflife":null,"endoflife_rebase":null}"#))
                results.append(
                    "\(response.status.code) \(response.errorBody?.currentState ?? response.headers[.location] ?? "-")")
            }
            let job = try await client.execute(
                uri: "/api/v1/build/\(build.id)/commit", method: .get, headers: .bearer(token),
                body: ByteBuffer(string: #"{"log-offset":0}"#))
            results.append("\(job.status.code) \((try? job.decode(Job.self))?.kind.rawValue ?? -1)")
            return results
        }
        #expect(results[0] == "400 uploading")
        #expect(results[1] == "200 http://flat.example:8080/api/v1/build/\(build.id)/commit")
        #expect(results[2] == "400 committing")
        #expect(results[3] == "200 0")
    }

    @Test("mints subset tokens only within the parent")
    func tokenSubset() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let parent = harness.token(scope: ["build", "upload"], prefixes: ["org.test"], repos: ["stable"])
        let results = try await harness.test { client in
            var results: [Int] = []
            for body in [
                #"{"sub":"build/1","scope":["upload"],"duration":60,"name":"ok"}"#,
                #"{"sub":"build/1","scope":["publish"],"duration":60,"name":"wider scope"}"#,
                #"{"sub":"","scope":["upload"],"duration":60,"name":"other sub"}"#,
                #"{"sub":"build","scope":["upload"],"duration":99999,"name":"longer"}"#,
                #"{"sub":"build","scope":["upload"],"duration":60,"name":"p","prefixes":["org"]}"#,
                #"{"sub":"build","scope":["upload"],"duration":60,"name":"r","repos":["beta"]}"#,
            ] {
                let response = try await client.execute(
                    uri: "/api/v1/token_subset", method: .post, headers: .bearer(parent), body: ByteBuffer(string: body)
                )
                results.append(Int(response.status.code))
            }
            return results
        }
        #expect(results == [200, 403, 403, 403, 403, 403])
    }

    @Test("refuses path traversal on the file routes and serves nothing outside")
    func traversal() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let codes = try await harness.test { client in
            var codes: [Int] = []
            for uri in [
                "/repo/stable/../../etc/passwd", "/repo/stable/..%2F..%2F..%2Fetc%2Fpasswd", "/repo/stable/.git",
                "/repo/nope/config", "/repo/stable/objects", "/build-repo/1/../../x", "/build-repo/x/config",
            ] {
                codes.append(Int(try await client.execute(uri: uri, method: .get).status.code))
            }
            codes.append(Int(try await client.execute(uri: "/repo/stable/config", method: .post).status.code))
            return codes
        }
        #expect(codes == [400, 400, 400, 400, 404, 404, 404, 405])
    }

    @Test("serves the status page as HTML")
    func statusPage() async throws {
        let harness = try await APIHarness.make()
        defer { Task { await harness.close() } }
        let (status, type, text) = try await harness.test { client in
            let response = try await client.execute(uri: "/status", method: .get)
            return (response.status, response.headers[.contentType], String(buffer: response.body))
        }
        #expect(status == .ok)
        #expect(type?.hasPrefix("text/html") == true)
        #expect(text.contains("flat-manager"))
    }
}
