#!/usr/bin/env python3
"""The engine of scripts/bench-missing-objects.sh (issue #13 goal 2): times `missing_objects` end to end.

One server (SQLite), one build, N object names. The main repository holds the first N objects. Timed, each one
request of N names with a gzip body as the clients send it and `Accept-Encoding: gzip`:
  main     every name is in the main repository: each is recorded in the build's borrowed-objects file, which is
           flushed to disk before the answer (the first call of a push that relies on published objects)
  again    the same names again (recorded again)
  uploaded N names the client uploaded into the build (a stat each)
  absent   N names that exist nowhere: every name comes back (the largest answer)
  scale    SCALE x N names in SCALE requests of N (the wire limit is 10 MiB per body, about 140,000 names), half of
           them in the main repository; printed per N names so that linearity shows (target: within 10x of `main`
           for 10x the names)
Each answer is checked (count and order of the missing names), so the smoke run also proves the route still works.

Usage: bench-missing-objects.py BIN_DIR [N] [SCALE]     Environment: BENCH_DIR (default /tmp/fm-bench-missing)
"""
import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, token, names):
    body = gzip.compress(json.dumps({"wanted": names}).encode(), compresslevel=1)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
               "Content-Encoding": "gzip", "Accept-Encoding": "gzip"}
    start = time.monotonic()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="GET", headers=headers),
                                timeout=600) as answer:
        raw = answer.read()
        elapsed = time.monotonic() - start
        if answer.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
    return elapsed, json.loads(raw)["missing"]


def cpu_seconds(pid):
    """User + system CPU time of a process so far (less disturbed than wall time by other work on the machine)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_objects(repo, names):
    made = set()
    for name in names:
        directory = "%s/objects/%s" % (repo, name[:2])
        if name[:2] not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(name[:2])
        with open("%s/%s" % (directory, name[2:]), "wb"):
            pass


def main():
    bin_dir = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    scale = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    work = os.environ.get("BENCH_DIR", "/tmp/fm-bench-missing")

    def names(start, n, salt):
        # Spread over the 256 objects/xx directories as real checksums are (a counter's hex would put every name
        # in objects/00, one directory of 600,000 entries, which no repository has).
        return ["%s.filez" % hashlib.sha256(b"%d:%d" % (salt, i)).hexdigest() for i in range(start, start + n)]

    present = names(0, count, 1)
    absent = names(0, count, 7)
    uploaded = names(0, count, 13)
    scaled = [names(part * count, count, 11) for part in range(scale)]
    print("Creating %d objects in the main repository..." % (count + scale * count // 2))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work + "/build-repo")
    subprocess.run(["ostree", "init", "--mode=archive-z2", "--repo=" + work + "/repo"], check=True)
    make_objects(work + "/repo", present)
    for part in scaled:
        make_objects(work + "/repo", part[::2])
    port = free_port()
    config = {"repos": {"stable": {"path": "repo", "subsets": {}}}, "build-repo-base": "build-repo",
              "secret": "c2VjcmV0", "port": port, "host": "127.0.0.1"}
    with open(work + "/config.json", "w") as f:
        json.dump(config, f)
    token = subprocess.run(
        [bin_dir + "/gentoken", "--secret", "secret", "--name", "bench", "--scope", "build", "upload",
         "--prefix", "", "--repo", ""], check=True, capture_output=True, text=True).stdout.strip()
    log = open(work + "/server.log", "w")
    server = subprocess.Popen([bin_dir + "/flat-manager"], cwd=work, stdout=log, stderr=log)
    failures = []
    try:
        base = "http://127.0.0.1:%d" % port
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        create = urllib.request.Request(
            base + "/api/v1/build", data=b'{"repo": "stable"}', method="POST",
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(create, timeout=60) as answer:
            build = json.loads(answer.read())["id"]
        url = "%s/api/v1/build/%d/missing_objects" % (base, build)
        make_objects("%s/build-repo/%d/upload" % (work, build), uploaded)
        timings = {}
        for label, wanted, expected in (("main", present, []), ("again", present, []), ("uploaded", uploaded, []),
                                        ("absent", absent, absent)):
            cpu = cpu_seconds(server.pid)
            timings[label], missing = request(url, token, wanted)
            cpu = cpu_seconds(server.pid) - cpu
            if missing != expected:
                failures.append("%s: %d missing, expected %d" % (label, len(missing), len(expected)))
            print("%-8s %8d names in one request: %7.3f s (server CPU %.2f s), %d missing"
                  % (label, len(wanted), timings[label], cpu, len(missing)))
        total = 0.0
        cpu = cpu_seconds(server.pid)
        for part in scaled:
            elapsed, missing = request(url, token, part)
            total += elapsed
            if missing != part[1::2]:
                failures.append("scale: %d missing, expected %d" % (len(missing), len(part[1::2])))
        cpu = cpu_seconds(server.pid) - cpu
        print("scale    %8d names in %d requests: %7.3f s (%.3f s per %d names; server CPU %.2f s)"
              % (scale * count, scale, total, total / scale, count, cpu))
        record = "%s/build-repo/%d/.flat-manager-borrowed" % (work, build)
        if os.path.exists(record):
            print("borrowed-objects record: %d bytes" % os.path.getsize(record))
        worst = max(timings.values())
        print("budget (issue #13): every case <= 0.25 s for 100,000 names; scale within 10x of main")
        print("ratios: worst/0.25 s per 100k = %.2f, main/0.25 s = %.2f, scale/(10 x main) = %.2f"
              % (worst / 0.25 * 100000 / count, timings["main"] / 0.25 * 100000 / count,
                 total / (scale * timings["main"])))
    finally:
        server.terminate()
        server.wait(timeout=60)
    if failures:
        sys.exit("wrong answers: " + "; ".join(failures))


if __name__ == "__main__":
    main()
