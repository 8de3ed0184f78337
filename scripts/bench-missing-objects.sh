#!/usr/bin/env bash
# missing_objects benchmark, kept out of the test suite (issue #13 goal 2: 100,000 names answered in <= 0.25 s end to
# end, 1,000,000 within 10x). Builds the release server and runs scripts/bench-missing-objects.py against it, which
# prints the timings, the budget and the ratios, and checks every answer.
#
# Usage: scripts/bench-missing-objects.sh [--smoke] [NAMES] [SCALE]
#   --smoke   2,000 names, scale 2, the debug build: checks the script and the route still work (part of test.sh)
# Environment: BENCH_DIR (default /tmp/fm-bench-missing), BENCH_SKIP_BUILD=1, BENCH_CONFIGURATION (release|debug),
#   BENCH_BIN (a directory with flat-manager and gentoken to use instead), BENCH_SCRATCH (a --scratch-path).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
configuration=${BENCH_CONFIGURATION:-release}
names=100000 scale=10
if [ "${1:-}" = --smoke ]; then
    names=2000 scale=2 configuration=${BENCH_CONFIGURATION:-debug}
    shift
fi
names=${1:-$names}
scale=${2:-$scale}
cd "$root"
build=(swift build -c "$configuration" ${BENCH_SCRATCH:+--scratch-path "$BENCH_SCRATCH"})
# A release build is linked as the Dockerfile ships it (--static-swift-stdlib): what an operator runs is measured.
if [ "$configuration" = release ]; then build+=(--static-swift-stdlib); fi
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        echo "Building $configuration binaries..."
        "${build[@]}" --product flat-manager >/dev/null
        "${build[@]}" --product gentoken >/dev/null
    fi
    bin=$("${build[@]}" --show-bin-path)
fi
exec python3 "$root/scripts/bench-missing-objects.py" "$bin" "$names" "$scale"
