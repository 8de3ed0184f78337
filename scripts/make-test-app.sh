#!/usr/bin/env bash
# Builds a tiny Flatpak runtime and app fully offline into an ostree repository (environment.md).
#
# Usage: bash scripts/make-test-app.sh OUTREPO APP_VERSION [RUNTIME_BRANCH]
#
#   OUTREPO         an archive-z2 ostree repository; created if absent
#   APP_VERSION     text printed by the app: `flatpak run org.test.Hello` prints "Hello <APP_VERSION>"
#   RUNTIME_BRANCH  branch of the runtime org.test.Platform (default 1)
#
# Writes runtime/org.test.Platform/<arch>/<branch> (a static busybox as /bin/sh plus a few applets; exported once,
# later runs reuse it) and app/org.test.Hello/<arch>/stable (a new commit on every run), with appstream data.
# `flatpak build-init` would need an installed SDK, so the build directories are written by hand.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
    echo "usage: make-test-app.sh OUTREPO APP_VERSION [RUNTIME_BRANCH]" >&2
    exit 2
fi
out_repo=$1
app_version=$2
runtime_branch=${3:-1}

app_id=org.test.Hello
runtime_id=org.test.Platform
busybox=/bin/busybox
arch=$(flatpak --default-arch)

if [ ! -x "$busybox" ]; then
    echo "make-test-app.sh: $busybox missing; install busybox-static (bash scripts/install-deps.sh)" >&2
    exit 1
fi
# The runtime has no libc, so /bin/sh must be static: `ldd` succeeds only on a dynamic executable.
if ldd "$busybox" >/dev/null 2>&1; then
    echo "make-test-app.sh: $busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/make-test-app.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -f "$out_repo/config" ]; then
    mkdir -p "$out_repo"
    ostree init --mode=archive-z2 --repo="$out_repo"
fi

# The runtime: exported only when the repo lacks it, so repeated runs add app commits on an unchanged runtime.
if ! ostree rev-parse --repo="$out_repo" "runtime/$runtime_id/$arch/$runtime_branch" >/dev/null 2>&1; then
    runtime_dir=$work/runtime
    mkdir -p "$runtime_dir/files/bin"
    cp "$busybox" "$runtime_dir/files/bin/busybox"
    for applet in sh cat echo ls; do
        ln -s busybox "$runtime_dir/files/bin/$applet"
    done
    cat >"$runtime_dir/metadata" <<METADATA
[Runtime]
name=$runtime_id
runtime=$runtime_id/$arch/$runtime_branch
sdk=$runtime_id/$arch/$runtime_branch
METADATA
    flatpak build-export --runtime --files=files "$out_repo" "$runtime_dir" "$runtime_branch" \
        --subject="$runtime_id $runtime_branch" >/dev/null
fi

app_dir=$work/app
mkdir -p "$app_dir/files/bin" "$app_dir/files/share/app-info/xmls"
cat >"$app_dir/files/bin/hello" <<SCRIPT
#!/bin/sh
echo "Hello $app_version"
SCRIPT
chmod 0755 "$app_dir/files/bin/hello"
cat >"$app_dir/metadata" <<METADATA
[Application]
name=$app_id
runtime=$runtime_id/$arch/$runtime_branch
sdk=$runtime_id/$arch/$runtime_branch
command=hello
METADATA
# What appstream-compose would write, so that build-update-repo produces appstream branches.
cat <<XML | gzip -9n >"$app_dir/files/share/app-info/xmls/$app_id.xml.gz"
<?xml version="1.0" encoding="UTF-8"?>
<components version="0.8" origin="flatpak">
  <component type="desktop">
    <id>$app_id.desktop</id>
    <name>Hello</name>
    <summary>Prints a greeting (test fixture)</summary>
    <bundle type="flatpak" runtime="$runtime_id/$arch/$runtime_branch" sdk="$runtime_id/$arch/$runtime_branch">app/$app_id/$arch/stable</bundle>
    <releases>
      <release version="$app_version" timestamp="$(date +%s)"/>
    </releases>
  </component>
</components>
XML

flatpak build-finish "$app_dir" >/dev/null
flatpak build-export --update-appstream "$out_repo" "$app_dir" stable \
    --subject="$app_id $app_version" >/dev/null
