#!/usr/bin/env bash
# Proves README's run command on a fresh clone: `bash scripts/run.sh` serves the example configuration and leaves
# `git status --porcelain` empty while it serves (everything it creates is under the ignored var/).
#
# Usage: bash scripts/check-run.sh [BIN_DIR]   (default .build/debug; built binaries, so nothing is rebuilt)
#
# Clones the committed HEAD into a temporary directory, runs scripts/run.sh there with FLAT_MANAGER_BIN_DIR, waits
# for the example config's 127.0.0.1:8080, fetches a repository file and /status, checks the clone's git status,
# and stops the server with SIGTERM. As root it runs in a private network namespace (`unshare -n`), so port 8080
# of the machine may be in use; otherwise that port must be free.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$(realpath "${1:-$root/.build/debug}")
[ -x "$bin/flat-manager" ] || { echo "check-run.sh: no $bin/flat-manager (build first)" >&2; exit 2; }

work=$(mktemp -d /tmp/fm-check-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/clone"

cat >"$work/check.sh" <<'CHECK'
set -euo pipefail
clone=$1 bin=$2
[ "$(id -u)" -ne 0 ] || ip link set lo up
cd "$clone"
FLAT_MANAGER_BIN_DIR="$bin" bash scripts/run.sh >"$clone/../run.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
    curl -sf -o /dev/null http://127.0.0.1:8080/repo/stable/config && break
    kill -0 "$server" 2>/dev/null || { cat "$clone/../run.log" >&2; echo "check-run.sh: run.sh exited" >&2; exit 1; }
    sleep 0.5
done
curl -sf http://127.0.0.1:8080/repo/stable/config | grep -q '^mode=archive-z2' || {
    cat "$clone/../run.log" >&2; echo "check-run.sh: /repo/stable/config not served" >&2; exit 1; }
curl -sf -o /dev/null http://127.0.0.1:8080/status || { echo "check-run.sh: /status failed" >&2; exit 1; }
grep -q '^OK ' "$clone/../run.log" || { echo "check-run.sh: --check-config did not run" >&2; exit 1; }
status=$(git -C "$clone" status --porcelain --ignored=no)
kill -TERM "$server"
wait "$server" || true
if [ -n "$status" ]; then
    echo "check-run.sh: run.sh left files in the checkout:" >&2
    echo "$status" >&2
    exit 1
fi
[ -f "$clone/var/config.json" ] && [ -f "$clone/var/repo/config" ] && [ -f "$clone/var/flat-manager.db" ] || {
    echo "check-run.sh: var/ does not hold the config, the repositories and the database" >&2; exit 1; }
CHECK

if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    unshare -n bash "$work/check.sh" "$work/clone" "$bin"
else
    bash "$work/check.sh" "$work/clone" "$bin"
fi
echo "check-run.sh: run.sh serves from a fresh clone and leaves git status clean" >&2
