#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for vigil's store tests and prints its URL on stdout.
#
#   scripts/pg-test-server.sh [start [DIR]]  # prints postgres://...; export it as VIGIL_TEST_DATABASE_URL
#   scripts/pg-test-server.sh stop [DIR]     # stops the server and deletes DIR
#
# The server lives in DIR (default: $VIGIL_PG_DIR, else $TMPDIR/vigil-pg-test), listens on 127.0.0.1
# on a free port (or $VIGIL_PG_PORT) with trust authentication, and holds one database,
# `vigil_test`. PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user that Debian's `postgresql` package creates.
set -euo pipefail

action="${1:-start}"
dir="${2:-${VIGIL_PG_DIR:-${TMPDIR:-/tmp}/vigil-pg-test}}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then bindir="$d"; break; fi
done
if [ -z "$bindir" ]; then
    echo "error: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin" >&2
    echo "hint: apt-get install -y postgresql" >&2
    exit 2
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$action" in
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >&2 || true
    fi
    # Delete only what this script made (a mistyped DIR must not cost anything).
    if [ -f "$dir/data/PG_VERSION" ] || [ -z "$(ls -A "$dir")" ]; then rm -rf "$dir"; fi
    exit 0
    ;;
start) ;;
*)
    echo "error: unknown action '$action': expected start or stop" >&2
    exit 2
    ;;
esac

if [ -f "$dir/url" ] && [ -f "$dir/data/postmaster.pid" ] \
    && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    cat "$dir/url"
    exit 0
fi

if [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "error: $dir is not empty and holds no server of this script" >&2
    exit 2
fi
rm -rf "$dir"
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
        echo "error: the postgres user cannot write to $dir (a parent directory is not searchable)" >&2
        exit 2
    fi
fi

port="${VIGIL_PG_PORT:-}"
if [ -z "$port" ]; then
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi

as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 2; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=50 -c max_wal_size=128MB -c wal_level=minimal -c max_wal_senders=0" start >&2 \
    || { cat "$dir/server.log" >&2; exit 2; }
as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres vigil_test

url="postgres://postgres@127.0.0.1:$port/vigil_test"
echo "$url" >"$dir/url"
echo "$url"
