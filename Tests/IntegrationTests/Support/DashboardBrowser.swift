import Foundation
import TestSupport

/// Headless Chromium driven over the DevTools protocol by a list of steps (the dashboard tests' browser): open a
/// page, wait until a JavaScript expression holds, type into a field, click a button, read a value, take a
/// screenshot. The websocket client is a few lines of Python's standard library, like `Ops.liveLogScript`.
enum DashboardBrowser {
    /// One step; `name` labels what `evaluate` and `wait` return.
    enum Step: Encodable {
        case navigate(String)
        /// Polls the expression until it is truthy (or the timeout ends, which fails the run).
        case wait(String, seconds: Double = 60)
        /// Sets the field's value as a user typing would (with `input` and `change` events).
        case type(selector: String, text: String)
        /// Focuses the element and clicks it (a real mouse press at its centre, so focus and handlers run as for
        /// a user).
        case click(String)
        case evaluate(name: String, expression: String)
        case screenshot(String)
        /// Emulates a phone-sized screen (390 x 844, mobile) for the steps that follow.
        case phone

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            switch self {
            case .navigate(let url): try container.encode(url, forKey: .navigate)
            case .wait(let expression, let seconds):
                try container.encode(expression, forKey: .wait)
                try container.encode(seconds, forKey: .seconds)
            case .type(let selector, let text):
                try container.encode(selector, forKey: .type)
                try container.encode(text, forKey: .text)
            case .click(let selector): try container.encode(selector, forKey: .click)
            case .evaluate(let name, let expression):
                try container.encode(expression, forKey: .evaluate)
                try container.encode(name, forKey: .name)
            case .screenshot(let path): try container.encode(path, forKey: .screenshot)
            case .phone: try container.encode(true, forKey: .phone)
            }
        }

        enum Key: String, CodingKey {
            case navigate, wait, seconds, type, text, click, evaluate, name, screenshot, phone
        }
    }

    /// Runs the steps in one browser (one tab, so sessionStorage lasts across them); returns the evaluated values
    /// by name (as strings).
    static func run(_ steps: [Step]) async throws -> [String: String] {
        guard let python = TestEnvironment.executable(named: "python3") else {
            throw TestSupportError.missingPrerequisite("python3")
        }
        guard let chromium = TestEnvironment.executable(named: "chromium") else {
            throw TestSupportError.missingPrerequisite("chromium")
        }
        let directory = try TempDirectory(prefix: "flat-manager-dashboard-browser")
        let script = directory.appending("steps.py")
        let stepsFile = directory.appending("steps.json")
        try Data(stepsScript.utf8).write(to: script)
        try JSONEncoder().encode(steps).write(to: stepsFile)
        let result = try await ProcessRunner.run(
            python, [script.path, chromium.path, stepsFile.path, directory.appending("profile").path],
            timeout: .seconds(600))
        guard result.succeeded else {
            throw TestSupportError.unexpected(
                "browser steps failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
        return try JSONDecoder().decode([String: String].self, from: Data(result.stdout.utf8))
    }

    /// Where a test's screenshots go: `.build/test-output/dashboard/<name>` in the checkout (kept after the run).
    static func outputDirectory(_ name: String) throws -> URL {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent(".build/test-output/dashboard/\(name)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let stepsScript = #"""
        import base64, json, os, socket, struct, subprocess, sys, time, urllib.request

        chromium, steps_file, profile = sys.argv[1:4]
        steps = json.load(open(steps_file))
        browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                    "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                    "--window-size=1100,900", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = {}
        try:
            port_file = os.path.join(profile, "DevToolsActivePort")
            for _ in range(1200):
                if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                    break
                time.sleep(0.1)
            port = int(open(port_file).read().split("\n")[0])
            page = None
            for _ in range(300):
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
                page = next((t for t in targets if t["type"] == "page"), None)
                if page:
                    break
                time.sleep(0.1)
            path = page["webSocketDebuggerUrl"].split(str(port), 1)[1]
            sock = socket.create_connection(("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            pending = b""
            while b"\r\n\r\n" not in pending:
                pending += sock.recv(4096)
            pending = [pending.split(b"\r\n\r\n", 1)[1]]

            def recv_exact(n):
                while len(pending[0]) < n:
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        raise RuntimeError("DevTools connection closed")
                    pending[0] += chunk
                data, pending[0] = pending[0][:n], pending[0][n:]
                return data

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
                message = b""
                while True:
                    first, second = recv_exact(2)
                    length = second & 0x7F
                    if length == 126:
                        length = struct.unpack(">H", recv_exact(2))[0]
                    elif length == 127:
                        length = struct.unpack(">Q", recv_exact(8))[0]
                    message += recv_exact(length)
                    if first & 0x80:
                        return json.loads(message)

            counter = [0]

            def call(method, params=None):
                counter[0] += 1
                send({"id": counter[0], "method": method, "params": params or {}})
                while True:
                    message = receive()
                    if message.get("id") == counter[0]:
                        if "error" in message:
                            raise RuntimeError(f"{method}: {message['error']}")
                        return message.get("result", {})

            def evaluate(expression):
                result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                   "awaitPromise": True})
                if "exceptionDetails" in result:
                    raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
                return result["result"].get("value")

            def wait(expression, seconds):
                deadline = time.time() + seconds
                while time.time() < deadline:
                    try:
                        if evaluate(expression):
                            return
                    except RuntimeError:
                        pass
                    time.sleep(0.2)
                raise RuntimeError(f"timed out waiting for {expression}; page: "
                                   + str(evaluate("document.body ? document.body.innerText : ''")))

            call("Page.enable")
            call("Runtime.enable")
            for step in steps:
                if "navigate" in step:
                    call("Page.navigate", {"url": step["navigate"]})
                    time.sleep(0.3)
                    wait("document.readyState === 'complete'", 60)
                elif "wait" in step:
                    wait(step["wait"], step.get("seconds", 60))
                elif "type" in step:
                    selector = json.dumps(step["type"])
                    evaluate(f"(function () {{ var e = document.querySelector({selector}); e.focus();"
                             f" e.value = {json.dumps(step['text'])};"
                             " e.dispatchEvent(new Event('input', {bubbles: true}));"
                             " e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
                elif "click" in step:
                    selector = json.dumps(step["click"])
                    box = evaluate(f"(function () {{ var e = document.querySelector({selector});"
                                   " e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
                                   " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
                    for kind in ("mousePressed", "mouseReleased"):
                        call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                          "button": "left", "clickCount": 1})
                elif "evaluate" in step:
                    value = evaluate(step["evaluate"])
                    results[step["name"]] = value if isinstance(value, str) else json.dumps(value)
                elif "phone" in step:
                    call("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                "deviceScaleFactor": 2, "mobile": True})
                elif "screenshot" in step:
                    shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
                    with open(step["screenshot"], "wb") as out:
                        out.write(base64.b64decode(shot["data"]))
            print(json.dumps(results))
        finally:
            browser.kill()
            browser.wait()
        """#
}
