#!/usr/bin/env python3
"""Writes the file tree of the push benchmark (scripts/bench-push.sh): many directories, many small files and some
large ones, part random (incompressible) and part text-like (compressible). Seeded, so every run makes the same tree.

Usage: bench-push-fixture.py DIRECTORY [FILES] [MEGABYTES]
"""
import os
import random
import sys

WORDS = [
    "flatpak", "ostree", "runtime", "commit", "dirtree", "object", "delta", "summary", "publish", "upload",
    "build", "manager", "client", "server", "repository", "checksum", "metadata", "branch", "stable", "x86_64",
]


def text_bytes(rng, size):
    """Compressible content: words and numbers, like source code or logs."""
    out = bytearray()
    while len(out) < size:
        out += (" ".join(rng.choice(WORDS) for _ in range(12)) + " %d\n" % rng.randrange(1 << 30)).encode()
    return bytes(out[:size])


def main():
    root = sys.argv[1]
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 24000
    megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 480
    rng = random.Random(20261128)
    budget = megabytes * 1024 * 1024
    large_count = max(1, files // 100)
    # Half the bytes in 1% large files, the rest spread over the small ones.
    large_size = budget // 2 // large_count
    small_mean = (budget - large_size * large_count) // (files - large_count)
    written = 0
    for index in range(files):
        directory = os.path.join(root, "files", "d%02d" % (index % 37), "s%03d" % (index % 211))
        os.makedirs(directory, exist_ok=True)
        if index % 100 == 0:
            size = large_size
        else:
            size = max(1, int(rng.expovariate(1.0 / small_mean)))
        if index % 3 == 0:
            data = text_bytes(rng, size)
        else:
            data = rng.randbytes(size)
        with open(os.path.join(directory, "f%06d.bin" % index), "wb") as handle:
            handle.write(data)
        written += size
    with open(os.path.join(root, "metadata"), "w") as handle:
        handle.write("[Application]\nname=org.bench.App\nruntime=org.bench.Platform/x86_64/master\n")
    print("wrote %d files, %d bytes" % (files, written))


if __name__ == "__main__":
    main()
