#!/usr/bin/env bash
# Builds flat-manager and runs it from the repository root with the example configuration.
#
# Usage: bash scripts/run.sh
#
# 1. installs missing system packages (scripts/install-deps.sh),
# 2. builds the three executables in release mode,
# 3. writes config.json from example-config.json unless a config.json (or $REPO_CONFIG) exists,
# 4. creates every configured repository with `ostree init` unless it exists,
# 5. replaces itself with .build/release/flat-manager (embedded SQLite in ./flat-manager.db unless the
#    config names a `database-url`). Stop it with Ctrl-C or SIGTERM.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh

swift build -c release -j 2 --product flat-manager </dev/null
swift build -c release -j 2 --product flat-manager-client </dev/null
swift build -c release -j 2 --product gentoken </dev/null

config=${REPO_CONFIG:-config.json}
if [ ! -e "$config" ]; then
    cp example-config.json "$config"
    echo "run.sh: wrote $config from example-config.json" >&2
fi

# One line per repository: <path>\t<collection id or empty>. Paths are relative to the working directory.
python3 - "$config" <<'PYTHON' | while IFS=$'\t' read -r path collection_id; do
import json, sys
with open(sys.argv[1]) as f:
    config = json.load(f)
for repo in config["repos"].values():
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

exec "$root/.build/release/flat-manager"
