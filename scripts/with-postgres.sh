#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server:
#   scripts/with-postgres.sh swift test --filter FlatManagerStoreTests
# Starts a private server on a free local port (data in a temporary directory), exports
# FLAT_MANAGER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres (and the unix-socket form in
# FLAT_MANAGER_TEST_POSTGRES_SOCKET_URL), runs the command, then always
# stops the server and removes the directory. Exits with the command's status. Must run as root (initdb
# itself runs as the `postgres` user, since it refuses to run as root).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must run as root" >&2
    exit 2
fi

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! PG_BIN="$(find_pg_bin)"; then
    echo "PostgreSQL not found; installing the postgresql package" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    PG_BIN="$(find_pg_bin)"
fi

if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-60999) clients use
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

PG_DIR="$(mktemp -d /tmp/flat-manager-pg.XXXXXX)"
chown postgres: "$PG_DIR"
chmod 700 "$PG_DIR"
PORT="$(free_port)"

cleanup() {
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

runuser -u postgres -- "$PG_BIN/initdb" -U postgres --auth=trust --no-sync -E UTF8 -D "$PG_DIR/data" >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -w -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PG_DIR -c fsync=off -c max_connections=1000" start >/dev/null

export FLAT_MANAGER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
# The same server through its unix socket, in libpq's form (percent-encoded socket directory as the host).
export FLAT_MANAGER_TEST_POSTGRES_SOCKET_URL="postgres://postgres@${PG_DIR//\//%2F}:$PORT/postgres"
echo "PostgreSQL running at $FLAT_MANAGER_TEST_POSTGRES_URL" >&2

status=0
"$@" || status=$?
exit "$status"
