#!/usr/bin/env bash
# The crash-cycle suite (Tests/IntegrationTests/CrashCycleTests.swift) with many more cycles than CI runs: every
# cycle pushes, commits and publishes one build and `kill -9`s the server once in each of push, commit, publish
# and update-repo (at a seeded random point), then checks that every build ended Published with one commit per
# publish, `ostree fsck` is clean and flatpak installs and updates the result. On SQLite and PostgreSQL.
#
# Usage: bash scripts/crash-cycles.sh [CYCLES] [SEED]     (defaults: 200 cycles, seed 14)
# Needs a built tree (`swift build --build-tests`) and the test tools (scripts/install-deps.sh --test).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec </dev/null

export FLAT_MANAGER_CRASH_CYCLES="${1:-200}"
export FLAT_MANAGER_CRASH_SEED="${2:-14}"
export FLAT_MANAGER_REQUIRE_ALL_TESTS=1
echo "crash-cycles: $FLAT_MANAGER_CRASH_CYCLES cycles per database, seed $FLAT_MANAGER_CRASH_SEED" >&2
exec bash scripts/with-postgres.sh swift test --skip-build --filter "CrashCycleTests"
