# shellcheck shell=bash
# Throwaway PostgreSQL server for tests and local runs (Debian's `postgresql`). Source this file, then:
#
#   pg_server_start   initdb in a directory of its own, start it on 127.0.0.1 (a free port near 5532), create the
#                     application role and database; sets PG_DIR, PG_PORT, PG_BIN, PG_SOCKET_DIR, PG_DATABASE, PG_USER,
#                     PG_PASSWORD and PG_CONNECTION (an Npgsql connection string for that role and database)
#   pg_server_stop    stop exactly that server (fast shutdown) and remove its directory
#   pg_psql ARGS...   psql as the superuser over the server's own socket (set-up only; services never get it)
#   pg_server_state   the server's settings as shell assignments (for scripts that stop it later)
#
# The server never touches the system's clusters (/var/lib/postgresql, port 5432): its own data directory, socket
# directory and port, bound to 127.0.0.1 only, password (SCRAM) logins over TCP, trust only over its private socket.
# Durability settings are relaxed (fsync off) when PG_THROWAWAY=1 (tests): the data dies with the run anyway.
#
# Overrides (env): DECOM_POSTGRES_PORT (a fixed port), PG_THROWAWAY (default 1).

PG_DIR='' PG_PORT='' PG_BIN='' PG_SOCKET_DIR='' PG_DATABASE='' PG_USER='' PG_PASSWORD='' PG_CONNECTION='' PG_STOPPED=''

_pg_log() { echo "${PG_LOG_PREFIX:-postgres}: $*" >&2; }

# The newest installed server's binaries (Debian keeps them out of PATH).
_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

_pg_port_free() {
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] || return 1
  fi
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs a server tool ($1, from PG_BIN) as the postgres user when we are root (initdb refuses root), from the data's parent.
_pg_as_owner() {
  local tool=$1; shift
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups --reset-env env -C "$PG_DIR" "$PG_BIN/$tool" "$@"
  else
    env -C "$PG_DIR" "$PG_BIN/$tool" "$@"
  fi
}

pg_psql() {
  _pg_as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_server_start() {
  PG_BIN=$(_pg_bin) || { _pg_log "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  local parent
  parent=$(mktemp -d "${TMPDIR:-/tmp}/decom-pg.XXXXXX")
  chmod 755 "$parent"
  PG_DIR=$parent/pg
  if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres -m 700 "$PG_DIR"; else install -d -m 700 "$PG_DIR"; fi
  PG_SOCKET_DIR=$PG_DIR/sock
  if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres -m 700 "$PG_SOCKET_DIR"; else install -d -m 700 "$PG_SOCKET_DIR"; fi

  if [ -n "${DECOM_POSTGRES_PORT:-}" ]; then
    PG_PORT=$DECOM_POSTGRES_PORT
  else
    PG_PORT=$((5532 + RANDOM % 400))
    while ! _pg_port_free "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
  fi

  _pg_as_owner initdb -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; _pg_log "initdb failed"; return 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PG_PORT"
    echo "unix_socket_directories = '$PG_SOCKET_DIR'"
    echo "max_connections = 300"
    if [ "${PG_THROWAWAY:-1}" = 1 ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >>"$PG_DIR/data/postgresql.conf"
  _pg_as_owner pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start >/dev/null ||
    { tail -n 30 "$PG_DIR/server.log" >&2; _pg_log "the server did not start"; return 1; }

  PG_USER=decommission
  PG_DATABASE=decommission
  PG_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  # The application role owns its database (it creates its services' schemas there) and nothing else: no superuser,
  # no CREATEROLE. CREATEDB lets tests make a database of their own.
  pg_psql -v pw="$PG_PASSWORD" >/dev/null <<'SQL' || { _pg_log "could not create the application role"; return 1; }
CREATE ROLE decommission LOGIN CREATEDB PASSWORD :'pw';
CREATE DATABASE decommission OWNER decommission;
SQL
  PG_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=$PG_DATABASE"
  _pg_log "PostgreSQL on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
}

pg_server_state() {
  printf 'PG_DIR=%q\nPG_PORT=%q\nPG_BIN=%q\nPG_SOCKET_DIR=%q\nPG_DATABASE=%q\nPG_USER=%q\n' \
    "$PG_DIR" "$PG_PORT" "$PG_BIN" "$PG_SOCKET_DIR" "$PG_DATABASE" "$PG_USER"
}

pg_server_stop() {
  [ -n "$PG_DIR" ] || return 0
  PG_STOPPED=
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    if _pg_as_owner pg_ctl -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      PG_STOPPED=clean
    else
      local pid
      pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
      PG_STOPPED=killed
      _pg_log "the server did not stop in 30 s: killed"
    fi
  fi
  rm -rf "$(dirname "$PG_DIR")"
  PG_DIR=
}
