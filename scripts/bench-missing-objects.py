#!/usr/bin/env python3
"""missing_objects benchmark, kept out of the test suite (issue #12: what linking found objects into a build costs).

One server, one build, N object names (default 100,000) that all exist in the main repository. It times, in the
same run:
  1. the first call, which hard-links each found object into the build repository (the new work), and
  2. the same call again, when every object is already the build's own (a stat per name: the old cost), and
  3. a call for N names that exist nowhere (a stat or two per name, nothing linked),
and prints the ratio of 1 to 2. Target: the first call stays within 3x of the stat-only call and under 10 s for
100k names on this machine; a push asks in batches of 2,000-20,000, so no single request comes near that.

Usage: python3 scripts/bench-missing-objects.py [BIN_DIR] (default: the release build, else .build/debug)
Environment: BENCH_OBJECTS (default 100000), BENCH_DIR (default /tmp/fm-bench-missing).
"""
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binaries():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for configuration in ("release", "debug"):
        path = os.path.join(ROOT, ".build", configuration)
        if os.path.exists(os.path.join(path, "flat-manager")):
            return path
    sys.exit("no built flat-manager: run `swift build -c release` first")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, token, body=None, gzipped=False):
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    if gzipped and data is not None:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=600) as answer:
        raw = answer.read()
        if answer.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        return json.loads(raw)


def main():
    count = int(os.environ.get("BENCH_OBJECTS", "100000"))
    work = os.environ.get("BENCH_DIR", "/tmp/fm-bench-missing")
    bin_dir = os.path.abspath(binaries())
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work + "/build-repo")
    subprocess.run(["ostree", "init", "--mode=archive-z2", "--repo=" + work + "/repo"], check=True)
    names, absent = [], []
    for i in range(count):
        checksum = "%064x" % (i * 2654435761 + 1)
        names.append(checksum + ".filez")
        directory = "%s/repo/objects/%s" % (work, checksum[:2])
        os.makedirs(directory, exist_ok=True)
        with open("%s/%s.filez" % (directory, checksum[2:]), "wb") as f:
            f.write(b"x")
        absent.append("%064x.filez" % (i * 2654435761 + 7))
    port = free_port()
    config = {
        "repos": {"stable": {"path": "repo", "subsets": {}}}, "build-repo-base": "build-repo",
        "secret": "c2VjcmV0", "port": port,
    }
    with open(work + "/config.json", "w") as f:
        json.dump(config, f)
    token = subprocess.run(
        [bin_dir + "/gentoken", "--secret", "secret", "--name", "bench", "--scope", "build", "upload",
         "--prefix", "", "--repo", ""], check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([bin_dir + "/flat-manager"], cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        build = request("POST", base + "/api/v1/build", token, {"repo": "stable"})["id"]
        url = "%s/api/v1/build/%d/missing_objects" % (base, build)
        timings = {}
        for label, wanted in (("link", names), ("own", names), ("absent", absent)):
            start = time.monotonic()
            missing = request("GET", url, token, {"wanted": wanted}, gzipped=True)["missing"]
            timings[label] = time.monotonic() - start
            print("%-7s %7d names: %6.2f s, %d missing" % (label, len(wanted), timings[label], len(missing)))
        print("first call (links every object) / stat-only call: %.2fx" % (timings["link"] / timings["own"]))
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
