#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on loopback, for the tests and benchmarks:
# Debian's postgresql package, no Docker, nothing downloaded.
#
#   tests/postgres.sh start DIR      initdb into DIR, start on a free port; prints the server URL
#   tests/postgres.sh createdb DIR NAME   a fresh database; prints its URL
#   tests/postgres.sh pause DIR      stop the server, keep the data (the tests' "database down")
#   tests/postgres.sh resume DIR     start it again on the same port
#   tests/postgres.sh remove DIR     stop it and delete everything
#
# The server runs as an unprivileged user: the `postgres` account when
# called as root (PostgreSQL refuses to run as root), else the caller.
set -euo pipefail

command=${1:?usage: tests/postgres.sh start|createdb|pause|resume|remove DIR [NAME]}
dir=${2:?the cluster folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (Debian package postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_server() {
  local port; port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null
}

case $command in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' > "$dir/port"
    as_owner "$bin/initdb" -D "$dir/data" -U textpeak --auth=trust -E UTF8 --locale=C.UTF-8 > "$dir/initdb.log"
    start_server
    echo "postgres://textpeak@127.0.0.1:$(cat "$dir/port")"
    ;;
  createdb)
    name=${3:?the database name}
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U textpeak "$name"
    echo "postgres://textpeak@127.0.0.1:$(cat "$dir/port")/$name"
    ;;
  pause)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    start_server
    ;;
  remove)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "unknown command $command" >&2
    exit 2
    ;;
esac
