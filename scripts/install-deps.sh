#!/usr/bin/env bash
# Installs the system packages flat-manager needs, and only those that are missing.
#
# Usage: bash scripts/install-deps.sh [--test]
#   --test   also install PostgreSQL (the test suite runs every database test against a real server), wrk and
#            nginx-light (the smoke run of scripts/bench-serve.sh), and schemathesis (pinned, in /opt/flat-manager-test-venv) for the generated OpenAPI conformance test
#
# Idempotent: when everything is present it changes nothing and needs no network and no root.
set -euo pipefail

packages=(ostree libostree-dev flatpak bubblewrap gnupg libsqlite3-dev busybox-static)
packages+=(chromium python3-jsonschema python3-yaml) # ops tests: headless status page, OpenAPI conformance
test_mode=0
for argument in "$@"; do
    case "$argument" in
        --test) packages+=(postgresql python3-venv wrk nginx-light); test_mode=1 ;;
        *) echo "install-deps.sh: unknown argument '$argument' (usage: install-deps.sh [--test])" >&2; exit 2 ;;
    esac
done

missing=()
for package in "${packages[@]}"; do
    # `dpkg -s` also succeeds for removed-but-configured packages, so check the status line itself.
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

# --test: schemathesis (PyPI, pinned) in its own venv, for the generated OpenAPI conformance test.
schemathesis_venv=/opt/flat-manager-test-venv schemathesis_version=4.32.5
install_schemathesis() {
    "$schemathesis_venv/bin/schemathesis" --version 2>/dev/null | grep -qxF "schemathesis, version $schemathesis_version" && return
    echo "install-deps.sh: installing schemathesis $schemathesis_version into $schemathesis_venv" >&2
    "${as_root[@]}" /usr/bin/python3 -m venv "$schemathesis_venv"
    "${as_root[@]}" "$schemathesis_venv/bin/pip" install -q "schemathesis==$schemathesis_version"
}

if [ "${#missing[@]}" -eq 0 ]; then
    as_root=()
    [ "$test_mode" -eq 0 ] || [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
    [ "$test_mode" -eq 0 ] || install_schemathesis
    exit 0
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "install-deps.sh: missing packages (${missing[*]}) and neither root nor sudo available" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a dpkg lock held by another apt run instead of failing at once.
apt_options=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update -qq </dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null
[ "$test_mode" -eq 0 ] || install_schemathesis
