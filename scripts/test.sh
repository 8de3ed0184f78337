#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run): lint, build with tests, run every test against real tools.
#
# Usage: bash scripts/test.sh
#
# 1. installs missing system packages, PostgreSQL included (scripts/install-deps.sh --test),
# 2. `swift format lint --strict` over Sources, Tests, Plugins and Package.swift (settings in .swift-format),
# 3. `swift build --build-tests` (one debug configuration; our targets treat warnings as errors),
# 4. scripts/check-run.sh: README's run command on a fresh clone of HEAD serves and leaves `git status` clean,
# 5. `swift test` inside scripts/with-postgres.sh, which starts a throw-away PostgreSQL and exports
#    FLAT_MANAGER_TEST_POSTGRES_URL. FLAT_MANAGER_REQUIRE_ALL_TESTS=1 turns every "tool missing" skip into a
#    failure, so a green run means every test really ran,
# 6. a smoke run of each benchmark (scripts/bench-{serve,missing-objects,latency,push}.sh --smoke: tiny sizes, the
#    debug build), so that they cannot rot.
# Exits non-zero on the first failing step, and when `swift test` ends without its summary line (a crash).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec </dev/null

step() { printf '\n==> %s\n' "$*" >&2; }

if [ ! -f scripts/with-postgres.sh ]; then
    echo "test.sh: scripts/with-postgres.sh is missing (it starts the test PostgreSQL server)" >&2
    exit 1
fi

step "Installing missing system packages"
bash scripts/install-deps.sh --test

step "Linting (swift format lint --strict)"
swift format lint --strict --parallel --recursive Sources Tests Plugins Package.swift

step "Checking deploy/Dockerfile"; bash scripts/check-dockerfile.sh

step "Building with tests"
swift build --build-tests -j 2

step "Checking the run command (scripts/run.sh on a fresh clone leaves git status clean)"
bash scripts/check-run.sh .build/debug

step "Running the tests"
export FLAT_MANAGER_REQUIRE_ALL_TESTS=1
log=$(mktemp "${TMPDIR:-/tmp}/flat-manager-test.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
# At most FLAT_MANAGER_TEST_WIDTH tests at a time (default 6). Unbounded, the whole suite ran some 60 servers,
# tools and browsers at once on two cores (a load of 50-70): timers fired minutes late and servers took over a
# minute to answer their first request. `swift test` does not pass Swift Testing's width option on, so the test
# binary it would run is run directly, with the same arguments.
tests_binary="$(swift build --show-bin-path)/flat-managerPackageTests.xctest"
bash scripts/with-postgres.sh "$tests_binary" --testing-library swift-testing \
    --experimental-maximum-parallelization-width "${FLAT_MANAGER_TEST_WIDTH:-6}" 2>&1 | tee "$log" || status=$?

# Swift Testing ends with "Test run with N tests ... passed/failed ..."; a crashed test process prints neither.
if ! grep -Eq 'Test run with [0-9]+ tests?.*(passed|failed)' "$log"; then
    echo "test.sh: swift test ended without its summary line (exit status $status): the test process crashed?" >&2
    exit "$((status == 0 ? 1 : status))"
fi
if [ "$status" -ne 0 ]; then
    echo "test.sh: swift test failed (exit status $status)" >&2
    exit "$status"
fi

# The benchmarks themselves are not part of the check, but a tiny run of each is, so that they cannot rot.
for bench in serve missing-objects latency push; do
    step "Benchmark smoke run (scripts/bench-$bench.sh --smoke, debug build)"
    bench_dir=$(mktemp -d "${TMPDIR:-/tmp}/fm-bench-$bench.XXXXXX")
    BENCH_DIR=$bench_dir BENCH_SKIP_BUILD=1 BENCH_CONFIGURATION=debug bash "scripts/bench-$bench.sh" --smoke
    rm -rf "$bench_dir"
done
echo "test.sh: all checks passed" >&2
