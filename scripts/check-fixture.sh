#!/usr/bin/env bash
# Proves that scripts/make-test-app.sh produces something real flatpak installs, runs and updates,
# using a throw-away user installation (no root, no D-Bus, no network).
#
# Usage: bash scripts/check-fixture.sh
set -euo pipefail

scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/check-fixture.XXXXXX")
trap 'rm -rf "$work"' EXIT

export HOME=$work/home
export XDG_DATA_HOME=$work/home/.local/share
export XDG_CONFIG_HOME=$work/home/.config
export XDG_CACHE_HOME=$work/home/.cache
export XDG_RUNTIME_DIR=$work/runtime
export FLATPAK_USER_DIR=$work/home/.local/share/flatpak
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR" "$FLATPAK_USER_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"

repo=$work/repo
fail() { echo "check-fixture.sh: FAIL: $*" >&2; exit 1; }

bash "$scripts/make-test-app.sh" "$repo" 1
flatpak remote-add --user --no-gpg-verify t "file://$repo"
flatpak install --user -y --noninteractive t org.test.Hello </dev/null
output=$(flatpak run org.test.Hello </dev/null)
[ "$output" = "Hello 1" ] || fail "expected 'Hello 1', flatpak run printed '$output'"

bash "$scripts/make-test-app.sh" "$repo" 2
flatpak update --user -y --noninteractive </dev/null
output=$(flatpak run org.test.Hello </dev/null)
[ "$output" = "Hello 2" ] || fail "expected 'Hello 2' after the update, flatpak run printed '$output'"

echo "check-fixture.sh: OK (install printed 'Hello 1', update printed 'Hello 2')"
