#!/bin/sh
# Push benchmark, kept out of the test suite: times `flat-manager-client push` of a large repository to a release
# build of our server, beside `ostree pull-local` of the same repository into a fresh one, and prints the ratio
# (target: <= 2).
#
# Issue #13 goal 4: a 100,000-file repository (Flathub's runtimes have 200,000+) pushed within 1.2x of pull-local,
# with the server's peak RSS (VmHWM) under 150 MB; both are printed.
#
# The fixture (default 100,000 files, 480 MB, random and compressible content in many directories) is generated
# offline by scripts/bench-push-fixture.py and committed into an archive-z2 repo; it is kept in $BENCH_DIR between
# runs. Usage: scripts/bench-push.sh [--smoke] [extra push options, e.g. --parallel 8]
#   --smoke   300 files, 3 MB, the debug build: checks the script still works (part of test.sh)
# Environment: BENCH_DIR (default /tmp/fm-bench-push), BENCH_FILES, BENCH_MB, BENCH_SKIP_BUILD=1,
# BENCH_CONFIGURATION (release, or debug for a quick look), BENCH_SCRATCH (a separate --scratch-path),
# BENCH_BIN (a directory with the three binaries to use instead).
set -eu
if [ "${1:-}" = --smoke ]; then
    shift
    BENCH_FILES=${BENCH_FILES:-300} BENCH_MB=${BENCH_MB:-3} BENCH_CONFIGURATION=${BENCH_CONFIGURATION:-debug}
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-/tmp/fm-bench-push}
files=${BENCH_FILES:-100000}
megabytes=${BENCH_MB:-480}
ref=app/org.bench.App/x86_64/master
mkdir -p "$work"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

cd "$repo"
configuration=${BENCH_CONFIGURATION:-release}
set -- -c "$configuration" ${BENCH_SCRATCH:+--scratch-path "$BENCH_SCRATCH"} -- "$@"
build_options=""
while [ "$1" != "--" ]; do build_options="$build_options $1"; shift; done
shift
# A release build is linked as the Dockerfile ships it (--static-swift-stdlib): what an operator runs is measured.
if [ "$configuration" = release ]; then build_options="$build_options --static-swift-stdlib"; fi
if [ -z "${BENCH_BIN:-}" ] && [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "Building $configuration binaries..."
    for product in flat-manager flat-manager-client gentoken; do
        # shellcheck disable=SC2086
        swift build $build_options --product "$product" >/dev/null
    done
fi
# shellcheck disable=SC2086
bin=${BENCH_BIN:-$(swift build $build_options --show-bin-path)}

if [ ! -f "$work/src/refs/heads/$ref" ]; then
    echo "Generating the fixture ($files files, $megabytes MB)..."
    rm -rf "$work/tree" "$work/src"
    python3 "$repo/scripts/bench-push-fixture.py" "$work/tree" "$files" "$megabytes"
    ostree init --mode=archive-z2 --repo="$work/src"
    ostree commit --repo="$work/src" --branch="$ref" --subject=bench "$work/tree" >/dev/null
fi
# Both sides read the source from tmpfs and write to $work: on one filesystem pull-local would hardlink the
# objects instead of copying them, which measures nothing comparable.
source=${BENCH_SOURCE:-/dev/shm/fm-bench-push-src}
rm -rf "$source"
cp -a "$work/src" "$source"
objects=$(find "$source/objects" -type f | wc -l)
size=$(du -sm "$source/objects" | cut -f1)
echo "Fixture: $objects objects, $size MB, copied to $source"

# A fresh server: its own directory, config, repo and SQLite database.
server="$work/server"
rm -rf "$server"
mkdir -p "$server/build-repo"
ostree init --mode=archive-z2 --repo="$server/repo" --collection-id=org.bench.Stable
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$server/config.json" <<EOF
{
    "repos": {"stable": {"path": "$server/repo", "collection-id": "org.bench.Stable", "subsets": {}}},
    "host": "127.0.0.1", "port": $port, "base-url": "", "delay-update-secs": 0,
    "build-repo-base": "$server/build-repo", "secret": "c2VjcmV0"
}
EOF
(cd "$server" && exec "$bin/flat-manager" >"$server/server.log" 2>&1) &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$source"' EXIT INT TERM
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/status" >/dev/null 2>&1 && break
    sleep 0.1
done
token=$("$bin/gentoken" --secret secret --name bench --scope build upload publish jobs --prefix "" --repo stable)
build=$("$bin/flat-manager-client" --token "$token" create "http://127.0.0.1:$port" stable)

echo "Pushing to $build..."
start=$(now)
server_cpu() { awk '{ sub(/.*\) /, ""); print ($12 + $13) / 100 }' "/proc/$server_pid/stat" 2>/dev/null || echo 0; }
server_cpu_start=$(server_cpu)
/usr/bin/time -f '%U %S' -o "$work/client-cpu" \
    "$bin/flat-manager-client" --token "$token" push "$@" "$build" "$source" >"$work/push.log"
server_cpu_push=$(echo "$(server_cpu) - $server_cpu_start" | bc)
client_cpu_push=$(awk '{ print $1 + $2 }' "$work/client-cpu")
push_seconds=$(elapsed "$start" "$(now)")
tail -n 3 "$work/push.log"

rm -rf "$work/pull"
ostree init --mode=archive-z2 --repo="$work/pull"
start=$(now)
ostree --repo="$work/pull" pull-local "$source" "$ref" >/dev/null
pull_seconds=$(elapsed "$start" "$(now)")

# The subshell exec'd the server, so $server_pid is the server itself.
peak_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
kill "$server_pid" 2>/dev/null || true
printf 'server peak RSS:            %d MB (target < 150)\n' "$((peak_kb / 1024))"
printf 'push (flat-manager-client): %.2f s (CPU: client %.1f s, server %.1f s)\n' "$push_seconds" "$client_cpu_push" \
    "$server_cpu_push"
printf 'ostree pull-local:          %.2f s\n' "$pull_seconds"
printf 'ratio push / pull-local:    %.2f (target <= 1.2)\n' "$(echo "$push_seconds / $pull_seconds" | bc -l)"
