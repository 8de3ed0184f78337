import Foundation
import TestSupport

/// Helpers of the operations tests: the metrics text, the OpenAPI conformance checker, headless Chromium.
enum Ops {
    /// The value of one sample line of `/metrics` (`name{labels} value`), or nil when the line is absent.
    static func sample(_ metrics: String, _ series: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// One request and its response, as the conformance checker reads them.
    struct Exchange: Codable {
        var method: String
        var path: String
        var status: Int
        var contentType: String
        var body: String
    }

    /// Records the request it makes, for `checkConformance`.
    final class Recorder: @unchecked Sendable {
        // Only used from one test task at a time.
        var exchanges: [Exchange] = []
        let server: TestServer
        let token: String

        init(server: TestServer, token: String) {
            self.server = server
            self.token = token
        }

        @discardableResult
        func call(_ method: String, _ path: String, json: String? = nil, token: String? = nil) async throws
            -> HTTPResponse
        {
            let response: HTTPResponse
            if method == "GET", let json {
                // URLSession on Linux refuses a GET with a body, which missing_objects and the job logs take.
                response = try await Ops.rawRequest(
                    method, "/api/v1" + path, port: server.port, token: token ?? self.token, json: json)
            } else {
                response = try await HTTP.request(
                    method, server.url("/api/v1" + path), token: token ?? self.token, body: json.map { Data($0.utf8) },
                    contentType: json == nil ? nil : "application/json")
            }
            exchanges.append(
                Exchange(
                    method: method, path: path, status: response.status,
                    contentType: response.headers["content-type"] ?? "", body: response.text))
            return response
        }
    }

    /// A request with a JSON body over a raw socket (`Connection: close`); the response's headers are lower-cased
    /// and a chunked body is decoded.
    static func rawRequest(_ method: String, _ path: String, port: Int, token: String, json: String) async throws
        -> HTTPResponse
    {
        let body = Array(json.utf8)
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let answer = try await SlowRequest(port: port, head: head, firstPart: body).finish(sending: [])
        let parts = answer.raw.components(separatedBy: "\r\n\r\n")
        var headers: [String: String] = [:]
        for line in (parts.first ?? "").split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        var text = answer.body
        if headers["transfer-encoding"] == "chunked" { text = dechunk(text) }
        return HTTPResponse(status: answer.status, headers: headers, body: Data(text.utf8))
    }

    /// The payload of a chunked HTTP/1.1 body.
    static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var out = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let chunk = rest.utf8[start...].prefix(size)
            out += String(decoding: chunk, as: UTF8.self)
            rest = rest[chunk.endIndex...].dropFirst(2)
        }
        return out
    }

    /// Runs the Python checker over the exchanges; returns its result (status 0: all conform).
    static func checkConformance(document: URL, exchanges: [Exchange]) async throws -> ProcessResult {
        guard let python = TestEnvironment.executable(named: "python3") else {
            throw TestSupportError.missingPrerequisite("python3")
        }
        let directory = try TempDirectory(prefix: "flat-manager-openapi")
        let script = directory.appending("check.py")
        let input = directory.appending("exchanges.json")
        try Data(conformanceScript.utf8).write(to: script)
        try JSONEncoder().encode(exchanges).write(to: input)
        return try await ProcessRunner.run(python, [script.path, document.path, input.path])
    }

    /// Matches each exchange to an operation of the document by method and path template, requires its status to
    /// be documented (or `default`), and validates a JSON body against the response schema (JSON Schema 2020-12,
    /// which OpenAPI 3.1 schemas are).
    static let conformanceScript = #"""
        import json, re, sys
        import jsonschema, yaml

        doc = yaml.safe_load(open(sys.argv[1]))
        exchanges = json.load(open(sys.argv[2]))
        failures = []

        def node_ref(ref):
            return ref.lstrip("#/").split("/")

        def deref(node):
            if isinstance(node, dict) and "$ref" in node:
                target = doc
                for part in node_ref(node["$ref"]):
                    target = target[part]
                return deref(target)
            return node

        def operation(method, path):
            for template, item in doc["paths"].items():
                pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
                if re.match(pattern, path.split("?")[0]) and method.lower() in item:
                    return template, item[method.lower()]
            return None, None

        for ex in exchanges:
            template, op = operation(ex["method"], ex["path"])
            name = f'{ex["method"]} {ex["path"]} -> {ex["status"]}'
            if op is None:
                failures.append(f"{name}: not in the document")
                continue
            responses = op["responses"]
            response = responses.get(str(ex["status"])) or responses.get("default")
            if response is None:
                failures.append(f"{name}: status not documented for {template}")
                continue
            response = deref(response)
            content = response.get("content")
            if not content:
                if ex["body"]:
                    failures.append(f"{name}: documented without a body, got {ex['body'][:200]}")
                continue
            if "application/json" not in ex["contentType"]:
                failures.append(f"{name}: content type {ex['contentType']}, documented {list(content)}")
                continue
            schema = dict(content["application/json"]["schema"])
            schema["components"] = doc["components"]
            try:
                jsonschema.validate(json.loads(ex["body"]), schema, cls=jsonschema.Draft202012Validator)
            except jsonschema.ValidationError as error:
                failures.append(f"{name}: {error.message} at {list(error.absolute_path)}")

        for failure in failures:
            print(failure)
        print(f"{len(exchanges)} exchanges, {len(failures)} failures")
        sys.exit(1 if failures else 0)
        """#

    /// Drives headless Chromium over the DevTools protocol (a minimal websocket client, standard library only):
    /// opens the page, takes a snapshot of `#status` and `#log` while the job is held, creates the release file,
    /// then waits (real time) until the page itself shows the job finished and takes a second snapshot.
    /// Arguments: chromium, url, release file, profile directory. Prints `{"before": …, "after": …}`.
    static let liveLogScript = #"""
        import base64, json, os, socket, struct, subprocess, sys, time, urllib.request

        chromium, url, release, profile = sys.argv[1:5]
        browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                    "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = os.path.join(profile, "DevToolsActivePort")
            for _ in range(300):
                if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                    break
                time.sleep(0.1)
            port = int(open(port_file).read().split("\n")[0])
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t["type"] == "page")
            path = page["webSocketDebuggerUrl"].split(str(port), 1)[1]
            sock = socket.create_connection(("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                buffer += sock.recv(4096)
            buffer = buffer.split(b"\r\n\r\n", 1)[1]

            def recv_exact(n):
                while len(nonlocal_buffer[0]) < n:
                    nonlocal_buffer[0] += sock.recv(65536)
                data, nonlocal_buffer[0] = nonlocal_buffer[0][:n], nonlocal_buffer[0][n:]
                return data

            nonlocal_buffer = [buffer]

            def send(message):
                payload = json.dumps(message).encode()
                mask = os.urandom(4)
                header = bytes([0x81])
                if len(payload) < 126:
                    header += bytes([0x80 | len(payload)])
                elif len(payload) < 65536:
                    header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
                else:
                    header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
                sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

            def receive():
                first, second = recv_exact(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack(">H", recv_exact(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", recv_exact(8))[0]
                return json.loads(recv_exact(length))

            counter = [0]

            def call(method, params=None):
                counter[0] += 1
                send({"id": counter[0], "method": method, "params": params or {}})
                while True:
                    message = receive()
                    if message.get("id") == counter[0]:
                        return message.get("result", {})

            def snapshot():
                expression = ("JSON.stringify({status: (document.getElementById('status')||{}).textContent||'',"
                              " log: (document.getElementById('log')||{}).textContent||''})")
                result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
                return json.loads(result["result"]["value"])

            call("Page.enable")
            call("Page.navigate", {"url": url})
            for _ in range(100):
                time.sleep(0.1)
                if call("Runtime.evaluate", {"expression": "document.readyState", "returnByValue": True})["result"]["value"] == "complete":
                    break
            time.sleep(1.5)
            before = snapshot()
            open(release, "w").close()
            after = before
            for _ in range(1200):
                time.sleep(0.1)
                after = snapshot()
                if after["status"] in ("Ended", "Broken"):
                    break
            print(json.dumps({"before": before, "after": after}))
        finally:
            browser.kill()
            browser.wait()
        """#

    /// Runs `liveLogScript` against a job page.
    static func followLiveLog(_ url: URL, release: URL) async throws -> (before: PageState, after: PageState) {
        guard let python = TestEnvironment.executable(named: "python3") else {
            throw TestSupportError.missingPrerequisite("python3")
        }
        guard let chromium = TestEnvironment.executable(named: "chromium") else {
            throw TestSupportError.missingPrerequisite("chromium")
        }
        let directory = try TempDirectory(prefix: "flat-manager-chromium")
        let script = directory.appending("cdp.py")
        try Data(liveLogScript.utf8).write(to: script)
        let profile = directory.appending("profile")
        let result = try await ProcessRunner.check(
            python, [script.path, chromium.path, url.absoluteString, release.path, profile.path],
            timeout: .seconds(240))
        let states = try JSONDecoder().decode([String: PageState].self, from: Data(result.stdout.utf8))
        guard let before = states["before"], let after = states["after"] else {
            throw TestSupportError.unexpected("no snapshots: \(result.stdout)")
        }
        return (before, after)
    }

    /// What the job page showed at one moment.
    struct PageState: Decodable {
        var status: String
        var log: String
    }

    /// The text of the element with this id in an HTML document (entities left as they are).
    static func element(_ id: String, in html: String) -> String? {
        guard let start = html.range(of: "id=\"\(id)\"") else { return nil }
        guard let open = html[start.upperBound...].firstIndex(of: ">") else { return nil }
        let rest = html[html.index(after: open)...]
        guard let close = rest.range(of: "</") else { return nil }
        return String(rest[..<close.lowerBound])
    }
}
