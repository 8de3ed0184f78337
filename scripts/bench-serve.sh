#!/usr/bin/env bash
# Serving benchmark, kept out of the test suite: our release server and nginx (Debian's nginx-light, sendfile on,
# access log off) serve the same directory, wrk asks both the same things back to back, and the script prints req/s,
# MB/s and our ratio to nginx per case (issue 13 goal 1: >= 0.9), and each server's CPU time per request (steadier
# than throughput on a shared machine: wrk and the server share its cores).
#
# Cases: small objects (random paths from the file list, keep-alive) at 32 and 256 connections, without a token and
# with a repo token (no jti: a verified signature, no database), and one large file with 4 connections.
# Our server runs with its access log at the default level (info), writing to a file.
#
# Usage: scripts/bench-serve.sh [--smoke] [--files N] [--size KIB] [--large-mb MB] [--duration SECONDS]
#   --smoke   tiny sizes (50 files, 1 MB large file, 1 s runs) so that CI can check the script still works
# Environment: BENCH_DIR (default /tmp/fm-bench-serve), BENCH_SKIP_BUILD=1, BENCH_CONFIGURATION (release|debug),
#   BENCH_BIN (a directory with flat-manager and gentoken binaries to use instead, e.g. of another checkout),
#   BENCH_THREADS (wrk threads, default 2), BENCH_ROUNDS (default 3), BENCH_PERF=1 (then perf record -g of our server
#   during one more 32-connection run, report in $BENCH_DIR/perf.txt), BENCH_SERVER_ENV (extra environment for our server, e.g. "RUST_LOG=warn").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
files=10000 size_kib=16 large_mb=200 duration=10 smoke=0
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 files=50 size_kib=16 large_mb=1 duration=1 ;;
        --files) files=$2; shift ;;
        --size) size_kib=$2; shift ;;
        --large-mb) large_mb=$2; shift ;;
        --duration) duration=$2; shift ;;
        *) echo "bench-serve.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
for tool in wrk nginx curl python3 ostree; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
        echo "bench-serve.sh: $tool is missing (scripts/install-deps.sh --test installs it)" >&2
        exit 1
    }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
work=${BENCH_DIR:-/tmp/fm-bench-serve}
threads=${BENCH_THREADS:-2}
configuration=${BENCH_CONFIGURATION:-release}

cd "$root"
build=(swift build -c "$configuration")
# A release build is linked as the Dockerfile ships it (--static-swift-stdlib): what an operator runs is measured.
if [ "$configuration" = release ]; then build+=(--static-swift-stdlib); fi
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
elif [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "Building $configuration binaries..."
    "${build[@]}" --product flat-manager >/dev/null
    "${build[@]}" --product gentoken >/dev/null
fi
[ -n "${BENCH_BIN:-}" ] || bin=$("${build[@]}" --show-bin-path)

# The fixture: an ostree-like repo with N objects in objects/xx/ and one large file; regenerated when the sizes change.
data="$work/data"
stamp="$files x $size_kib KiB + $large_mb MB"
if [ "$(cat "$data/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "Generating $stamp..."
    rm -rf "$data"
    mkdir -p "$data"
    ostree init --mode=archive-z2 --repo="$data/repo" >/dev/null
    python3 - "$data/repo" "$files" "$size_kib" "$large_mb" <<'PYTHON'
import hashlib, os, sys
repo, count, size, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * 1024, int(sys.argv[4])
names = []
for index in range(count):
    digest = hashlib.sha256(str(index).encode()).hexdigest()
    directory = os.path.join(repo, "objects", digest[:2])
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, digest[2:] + ".filez"), "wb") as f:
        f.write(os.urandom(size))
    names.append(f"objects/{digest[:2]}/{digest[2:]}.filez")
with open(os.path.join(repo, "large.bin"), "wb") as f:
    chunk = os.urandom(1 << 20)
    for _ in range(large):
        f.write(chunk)
with open(os.path.join(os.path.dirname(repo), "paths.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
PYTHON
    echo "$stamp" >"$data/.stamp"
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
run="$work/run"
rm -rf "$run"
mkdir -p "$run/server/build-repo" "$run/nginx"
ours_port=$(free_port)
nginx_port=$(free_port)

# Our server: SQLite database in its own directory, one repo "stable" on the fixture.
cat >"$run/server/config.json" <<EOF
{
    "repos": {"stable": {"path": "$data/repo", "subsets": {}}},
    "host": "127.0.0.1", "port": $ours_port, "base-url": "", "delay-update-secs": 0,
    "build-repo-base": "$run/server/build-repo", "secret": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
}
EOF
# nginx: the same directory under /repo/stable/, its own config, pid and temp files, running as this user (as root,
# nginx would switch its workers to nobody, who cannot enter a private temporary directory: keep them root).
nginx_user=""
[ "$(id -u)" -ne 0 ] || nginx_user="user root;"
cat >"$run/nginx/nginx.conf" <<EOF
$nginx_user
worker_processes auto;
pid $run/nginx/nginx.pid;
error_log $run/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $run/nginx/body;
    proxy_temp_path $run/nginx/proxy;
    fastcgi_temp_path $run/nginx/fastcgi;
    uwsgi_temp_path $run/nginx/uwsgi;
    scgi_temp_path $run/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location /repo/stable/ { alias $data/repo/; }
    }
}
EOF

# wrk: each request a random path of the list (and the token header when given); errors and non-2xx are reported.
cat >"$run/random.lua" <<EOF
local paths = {}
for line in io.lines("$data/paths.txt") do paths[#paths + 1] = "/repo/stable/" .. line end
local token = os.getenv("BENCH_TOKEN")
math.randomseed(os.time())
request = function()
    local headers = {}
    if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
    return wrk.format("GET", paths[math.random(#paths)], headers)
end
done = function(summary, latency, requests)
    io.write(string.format("RESULT %d %d %.3f %d\n", summary.requests, summary.bytes, summary.duration / 1e6,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end
EOF
cat >"$run/fixed.lua" <<'EOF2'
done = function(summary, latency, requests)
    io.write(string.format("RESULT %d %d %.3f %d\n", summary.requests, summary.bytes, summary.duration / 1e6,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end
EOF2

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$run/nginx/nginx.pid" ] && kill "$(cat "$run/nginx/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
(cd "$run/server" && exec env ${BENCH_SERVER_ENV:-} "$bin/flat-manager" >"$run/server/server.log" 2>&1) &
ours_pid=$!
pids+=("$ours_pid")
"$nginx_bin" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log" -g 'daemon on;' 2>/dev/null \
    || "$nginx_bin" -c "$run/nginx/nginx.conf" -g 'daemon on;'
first=$(head -n 1 "$data/paths.txt")
for port in "$ours_port" "$nginx_port"; do
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/repo/stable/$first" && break
        sleep 0.1
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/repo/stable/$first" || {
        echo "bench-serve.sh: the server on port $port does not answer; logs in $run" >&2
        exit 1
    }
done
token=$("$bin/gentoken" --base64 --secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=" --name bench \
    --scope download --repo stable 2>/dev/null || true)



# CPU time (user + system, in clock ticks) of a server so far: ours, or nginx's master and workers.
cpu_ticks() { # port
    local pids
    if [ "$1" = "$ours_port" ]; then
        pids=$ours_pid
    else
        pids="$(cat "$run/nginx/nginx.pid") $(pgrep -P "$(cat "$run/nginx/nginx.pid")" | tr '\n' ' ')"
    fi
    # shellcheck disable=SC2086
    python3 -c 'import sys
total = 0
for pid in sys.argv[1:]:
    try:
        fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    except OSError:
        pass
print(total)' $pids
}

# One wrk run; prints "req/s MB/s cpu-us-per-request". Failed requests make the script fail: a fast wrong answer is
# no figure.
measure() { # port connections random|<path> [token]
    local port=$1 connections=$2 target=$3 bearer=${4:-} output line cpu_before cpu_after
    local wrk_threads=$threads
    cpu_before=$(cpu_ticks "$port")
    [ "$connections" -lt "$wrk_threads" ] && wrk_threads=$connections
    if [ "$target" = random ]; then
        output=$(BENCH_TOKEN=$bearer wrk -t "$wrk_threads" -c "$connections" -d "${duration}s" --timeout 10s \
            -s "$run/random.lua" "http://127.0.0.1:$port")
    else
        output=$(wrk -t "$wrk_threads" -c "$connections" -d "${duration}s" --timeout 10s -s "$run/fixed.lua" \
            "http://127.0.0.1:$port/repo/stable/$target")
    fi
    cpu_after=$(cpu_ticks "$port")
    line=$(printf '%s\n' "$output" | grep '^RESULT' || true)
    if [ -z "$line" ]; then
        printf 'bench-serve.sh: wrk printed no result:\n%s\n' "$output" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    set -- $line
    if [ "$5" != 0 ]; then
        echo "bench-serve.sh: $5 failed requests on port $port" >&2
        exit 1
    fi
    python3 -c "import os, sys; n, b, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); \
cpu = (int(sys.argv[5]) - int(sys.argv[4])) / os.sysconf('SC_CLK_TCK') * 1e6 / max(n, 1); \
print(f'{n / s:.1f} {b / s / 1e6:.1f} {cpu:.1f}')" "$2" "$3" "$4" "$cpu_before" "$cpu_after"
}

printf '%-28s %11s %9s %11s %9s %6s %9s %9s %6s\n' case "ours req/s" "ours MB/s" "nginx req/s" "nginx MB/s" ratio \
    "ours µs" "nginx µs" "cpu"
# Each case runs BENCH_ROUNDS times (default 3), ours and nginx back to back each round; the best of each counts,
# so that a burst of other work on a shared machine hurts neither side more than the other.
rounds=${BENCH_ROUNDS:-$((smoke ? 1 : 3))}
best() { python3 -c "import sys; print(max(sys.argv[1:], key=lambda p: float(p.split()[1])))" "$@"; }
compare() { # label connections target [token]; the ratio is of MB/s (that of req/s too: the same answers)
    local label=$1 connections=$2 target=$3 bearer=${4:-} ours=() nginx=() round
    for round in $(seq 1 "$rounds"); do
        ours+=("$(measure "$ours_port" "$connections" "$target" "$bearer")")
        # nginx gets the very same requests, token header included (it ignores it): wrk's work per request, which
        # shares the two cores with the server, is then the same on both sides.
        nginx+=("$(measure "$nginx_port" "$connections" "$target" "$bearer")")
    done
    # shellcheck disable=SC2046
    set -- $(best "${ours[@]}") $(best "${nginx[@]}")
    # "µs": the server's CPU time (user + system) per request in that run; "cpu": nginx's / ours (1.0: as frugal).
    printf '%-28s %11s %9s %11s %9s %6s %9s %9s %6s\n' "$label" "$1" "$2" "$4" "$5" \
        "$(python3 -c "import sys; print(f'{float(sys.argv[1]) / max(float(sys.argv[2]), 1e-9):.2f}')" "$2" "$5")" \
        "$3" "$6" "$(python3 -c "import sys; print(f'{float(sys.argv[2]) / max(float(sys.argv[1]), 1e-9):.2f}')" "$3" "$6")"
}
small="${files} x ${size_kib} KiB"
compare "small, 32 conn" 32 random
compare "small, 256 conn" 256 random
if [ -n "$token" ]; then
    compare "small, 32 conn, token" 32 random "$token"
    compare "small, 256 conn, token" 256 random "$token"
fi
compare "large ${large_mb} MB, 4 conn" 4 large.bin
echo "($small files; wrk $threads threads, ${duration}s per run, best of $rounds; our log: $(wc -l <"$run/server/server.log") lines)"
if [ "${BENCH_PERF:-0}" = 1 ]; then
    perf record -g -o "$work/perf.data" -p "$ours_pid" -- sleep "$duration" >/dev/null 2>&1 &
    perf_pid=$!
    measure "$ours_port" 32 random >/dev/null
    wait "$perf_pid" || true
    perf report -i "$work/perf.data" --no-children --stdio 2>/dev/null | grep -v '^$' >"$work/perf.txt" || true
    echo "Profile of ours, small objects at 32 connections: $work/perf.txt; top entries:"
    perf report -i "$work/perf.data" --no-children --stdio -g none --percent-limit 1.5 2>/dev/null \
        | grep '%' | head -n 25
fi
