#!/usr/bin/env bash
# Builds flat-manager and runs it with the example configuration, keeping everything it creates under var/.
#
# Usage: bash scripts/run.sh
#
# 1. installs the missing system packages that building and serving need (scripts/install-deps.sh, no test tools),
# 2. builds the three executables in release mode,
# 3. writes var/config.json from example-config.json unless it exists (or uses $REPO_CONFIG when set),
# 4. creates every configured repository with `ostree init` unless it exists,
# 5. runs `flat-manager --check-config`, whose message names the file and key of any mistake,
# 6. replaces itself with .build/release/flat-manager (or $FLAT_MANAGER_BIN_DIR/flat-manager), working in var/ (the config's relative paths, and the
#    embedded SQLite database var/flat-manager.db unless the config names a `database-url`). Stop it with Ctrl-C
#    or SIGTERM.
# var/ is ignored by git, so `git status` stays clean while it serves; delete var/ to start afresh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh

# FLAT_MANAGER_BIN_DIR (what the tests set): run already built binaries from there instead of building.
bin=${FLAT_MANAGER_BIN_DIR:-}
if [ -z "$bin" ]; then
    swift build -c release -j 2 --product flat-manager </dev/null
    swift build -c release -j 2 --product flat-manager-client </dev/null
    swift build -c release -j 2 --product gentoken </dev/null
    bin="$root/.build/release"
fi
bin=$(realpath "$bin")

if [ -n "${REPO_CONFIG:-}" ]; then
    config=$(realpath "$REPO_CONFIG")
    workdir=$(dirname "$config")
else
    workdir="$root/var"
    config="$workdir/config.json"
    mkdir -p "$workdir"
    if [ ! -e "$config" ]; then
        cp example-config.json "$config"
        echo "run.sh: wrote var/config.json from example-config.json" >&2
    fi
fi
cd "$workdir"
export REPO_CONFIG="$config"

# One line per repository: <path>\t<collection id or empty>. Paths are relative to the working directory.
python3 - "$config" <<'PYTHON' | while IFS=$'\t' read -r path collection_id; do
import json, sys
try:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    repos = config["repos"].values()
except (OSError, ValueError, KeyError, AttributeError):
    repos = []  # --check-config below names the problem
for repo in repos:
    if isinstance(repo, dict) and isinstance(repo.get("path"), str):
        print(f"{repo['path']}\t{repo.get('collection-id') or ''}")
PYTHON
    if [ ! -f "$path/config" ]; then
        arguments=(--mode=archive-z2 "--repo=$path")
        if [ -n "$collection_id" ]; then arguments+=("--collection-id=$collection_id"); fi
        mkdir -p "$path"
        ostree init "${arguments[@]}"
        echo "run.sh: created ostree repository $path" >&2
    fi
done

if ! "$bin/flat-manager" --check-config; then
    echo "run.sh: fix $config (see above) and run again" >&2
    exit 1
fi
exec "$bin/flat-manager"
