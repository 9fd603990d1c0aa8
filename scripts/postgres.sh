#!/usr/bin/env bash
# A private PostgreSQL 15 for tests: `postgres.sh start DIR` creates a cluster in DIR (which must
# not exist yet or be empty), starts it on a free loopback port as a non-root user (the
# `postgres` user when run as root), logs every statement with its duration to DIR/server.log,
# and prints `DATABASE_URL=postgres://…`; the URL is also written to DIR/url.
# `postgres.sh stop DIR` stops it and removes DIR. Installs Debian's `postgresql` if missing.
# With POSTGRES_DURABLE=1 (the benchmark) the server flushes to disk as a production one does
# (fsync on) and logs no statements.
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: postgres.sh start|stop DIR" >&2; exit 2; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$command" in
  start)
    if [ ! -x "$bin/initdb" ]; then
      echo "postgres.sh: installing Debian's postgresql" >&2
      sudo_cmd=""
      [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
      $sudo_cmd apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir'"
    if [ "${POSTGRES_DURABLE:-}" = 1 ]; then
      options="$options -c fsync=on -c max_connections=200 -c shared_buffers=512MB"
    else
      options="$options -c fsync=off -c log_min_duration_statement=0"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$options" start >/dev/null
    url="postgres://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "DATABASE_URL=$url"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
