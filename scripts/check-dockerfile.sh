#!/usr/bin/env bash
# Checks deploy/Dockerfile without a Docker engine, as far as that is possible.
#
# Usage: bash scripts/check-dockerfile.sh [--build] [DOCKERFILE]
#
# Cheap checks (always):
#   - every FROM image is a Debian 12 one (`swift:<version>-bookworm`, `debian:12…`/`debian:bookworm…`), and the
#     Swift image is at least the tools version of Package.swift;
#   - each stage's `apt-get install` package list resolves on this machine (`apt-get install --simulate
#     --no-install-recommends`), which is only meaningful on Debian 12 and is skipped elsewhere;
#   - the final stage runs as a non-root USER;
#   - every COPY source exists in the repository (a glob may match nothing if another source of the same COPY
#     exists, as Docker allows), and every `COPY --from=<stage>` source is a binary that stage builds and installs;
#   - every `swift build` of a stage is exactly `swift build -c release --static-swift-stdlib --product <name>`,
#     each <name> is an executable product of Package.swift, and every executable product is built and copied into
#     the final stage.
# --build also runs those `swift build` commands (with `--scratch-path .build-docker`, so the normal .build is left
# alone) and checks that each binary starts (`--help` exits 0). A release build takes a while; run it with `nice`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build=0
dockerfile=deploy/Dockerfile
for argument in "$@"; do
    case "$argument" in
        --build) build=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "check-dockerfile.sh: unknown option $argument" >&2; exit 2 ;;
        *) dockerfile=$argument ;;
    esac
done
[ -f "$dockerfile" ] || { echo "check-dockerfile.sh: $dockerfile not found" >&2; exit 2; }

# The parsing and the cheap checks; prints one `build <product>` line per build command for --build.
plan=$(python3 - "$dockerfile" <<'PYTHON'
import glob, os, re, shlex, subprocess, sys

path = sys.argv[1]
errors = []

def ok(message):
    print(f"ok: {message}", file=sys.stderr)

def fail(message):
    errors.append(message)
    print(f"error: {path}: {message}", file=sys.stderr)

# Instructions with their continuation lines joined; comments and blank lines dropped.
instructions, current = [], ""
for line in open(path, encoding="utf-8"):
    stripped = line.strip()
    if not current and (not stripped or stripped.startswith("#")):
        continue
    if stripped.startswith("#"):
        continue
    if stripped.endswith("\\"):
        current += stripped[:-1] + " "
        continue
    current += stripped
    instructions.append(current)
    current = ""

stages = []  # {"image", "name", "instructions": [(keyword, arguments)]}
for instruction in instructions:
    keyword, _, arguments = instruction.partition(" ")
    keyword = keyword.upper()
    if keyword == "FROM":
        words = [w for w in arguments.split() if not w.startswith("--")]
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        stages.append({"image": words[0], "name": name, "instructions": []})
    elif stages:
        stages[-1]["instructions"].append((keyword, arguments.strip()))
if not stages:
    fail("no FROM instruction")
    sys.exit(1)

# Package.swift: the tools version and the executable products.
manifest = open("Package.swift", encoding="utf-8").read()
tools = re.search(r"swift-tools-version:\s*(\d+)\.(\d+)", manifest)
tools_version = (int(tools.group(1)), int(tools.group(2))) if tools else (0, 0)
executables = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', manifest))

# 1. Base images.
for stage in stages:
    image = stage["image"]
    swift = re.fullmatch(r"swift:(\d+)\.(\d+)(?:\.\d+)?-bookworm", image)
    if swift:
        version = (int(swift.group(1)), int(swift.group(2)))
        if version < tools_version:
            fail(f"{image} is older than swift-tools-version {tools_version[0]}.{tools_version[1]}")
        else:
            ok(f"{image} is a Debian 12 Swift image")
    elif re.fullmatch(r"debian:(12|bookworm)([.-][\w.-]*)?", image):
        ok(f"{image} is Debian 12")
    else:
        fail(f"FROM {image} is not a Debian 12 (bookworm) image")

# 2. apt-get install package lists, per stage.
def is_debian_12():
    try:
        release = open("/etc/os-release", encoding="utf-8").read()
    except OSError:
        return False
    return 'ID=debian' in release and 'VERSION_ID="12"' in release

for stage in stages:
    for keyword, arguments in stage["instructions"]:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            try:
                words = shlex.split(command)
            except ValueError:  # a quote spanning a separator: not an apt-get line
                words = command.split()
            if words[:2] != ["apt-get", "install"]:
                continue
            packages = [w for w in words[2:] if not w.startswith("-")]
            if not packages:
                fail(f"an apt-get install without packages in stage {stage['image']}")
            elif not is_debian_12():
                print(f"skipped: apt-get install {' '.join(packages)} (this machine is not Debian 12)", file=sys.stderr)
            else:
                simulated = subprocess.run(
                    ["apt-get", "install", "--simulate", "--no-install-recommends", *packages],
                    capture_output=True, text=True)
                if simulated.returncode != 0:
                    fail(f"apt-get install {' '.join(packages)} does not resolve: {simulated.stderr.strip()}")
                else:
                    ok(f"apt-get install {' '.join(packages)} resolves on this Debian 12")

# 3. A non-root user in the final stage.
users = [arguments.split(":")[0] for keyword, arguments in stages[-1]["instructions"] if keyword == "USER"]
if not users or users[-1] in ("root", "0"):
    fail("the final stage does not switch to a non-root USER")
else:
    ok(f"the final stage runs as {users[-1]}")

# 5 (before 4: COPY --from needs what each stage builds). swift build command lines.
expected = re.compile(r"swift build -c release --static-swift-stdlib --product ([\w.-]+)")
built = {}  # stage key -> products
for index, stage in enumerate(stages):
    products = []
    for keyword, arguments in stage["instructions"]:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            command = " ".join(command.split())
            if not command.startswith("swift build") or "--show-bin-path" in command:
                continue
            match = expected.fullmatch(command)
            if not match:
                fail(f"'{command}' is not 'swift build -c release --static-swift-stdlib --product <name>'")
                continue
            product = match.group(1)
            if product not in executables:
                fail(f"--product {product} is not an executable product of Package.swift")
                continue
            products.append(product)
            print(f"build {product}")
    if products:
        ok(f"stage {stage['name'] or index} builds {', '.join(products)}")
    for key in (stage["name"], str(index)):
        if key is not None:
            built[key] = (stage, products)

# 4. COPY sources.
copied = set()
for stage in stages:
    for keyword, arguments in stage["instructions"]:
        if keyword not in ("COPY", "ADD"):
            continue
        words = shlex.split(arguments)
        options = [w for w in words if w.startswith("--")]
        files = [w for w in words if not w.startswith("--")]
        sources = files[:-1]
        origin = next((o.split("=", 1)[1] for o in options if o.startswith("--from=")), None)
        if origin is None:
            plain = [s for s in sources if not glob.has_magic(s)]
            for source in plain:
                if os.path.exists(source):
                    ok(f"COPY source {source} exists")
                else:
                    fail(f"COPY source {source} does not exist in the repository")
            matched = [s for s in sources if glob.glob(s)]
            if sources and not matched:
                fail(f"no source of 'COPY {arguments}' exists")
        elif origin in built:
            origin_stage, products = built[origin]
            text = " ".join(arguments for _, arguments in origin_stage["instructions"])
            for source in sources:
                directory, name = os.path.split(source)
                if name in products and directory in text:
                    ok(f"COPY --from={origin} {source} is built and installed by that stage")
                    if stage is stages[-1]:
                        copied.add(name)
                else:
                    fail(f"COPY --from={origin} {source}: that stage does not build {name} into {directory}")
        else:
            print(f"skipped: COPY --from={origin} (an image, not a stage of this file)", file=sys.stderr)

missing = sorted(executables - copied)
if missing:
    fail(f"executable products not in the final image: {', '.join(missing)}")
else:
    ok(f"every executable product is in the final image ({', '.join(sorted(executables))})")

sys.exit(1 if errors else 0)
PYTHON
) || { echo "check-dockerfile.sh: $dockerfile has problems (see above)" >&2; exit 1; }

if [ "$build" -eq 1 ]; then
    scratch=.build-docker
    products=$(printf '%s\n' "$plan" | sed -n 's/^build //p')
    start=$(date +%s)
    for product in $products; do
        echo "==> swift build --scratch-path $scratch -c release --static-swift-stdlib --product $product" >&2
        swift build --scratch-path "$scratch" -c release --static-swift-stdlib --product "$product"
    done
    bin=$(swift build --scratch-path "$scratch" -c release --show-bin-path)
    for product in $products; do
        if "$bin/$product" --help >/dev/null 2>&1; then
            echo "ok: $product starts (--help exits 0)" >&2
        else
            echo "error: $bin/$product --help failed" >&2
            exit 1
        fi
        # What the runtime image has to provide besides the C library (informative).
        libraries=$(ldd "$bin/$product" 2>/dev/null | awk '{print $1}' | grep -v -E '^(linux-vdso|/lib64/ld-linux)' |
            tr '\n' ' ')
        echo "    $product links: $libraries" >&2
    done
    echo "ok: release build with static stdlib in $(($(date +%s) - start)) s" >&2
fi
echo "check-dockerfile.sh: $dockerfile OK" >&2
