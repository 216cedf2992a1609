#!/usr/bin/env bash
# Attache's own shared PostgreSQL 15 clusters for the "essential" plans, with password
# (scram-sha-256) auth over TCP: reuses a running cluster, starts a stopped one, creates a missing one.
#   bash scripts/postgres-clusters.sh [name:port ...]      (default: $ATTACHE_POSTGRES_CLUSTERS,
#                                                            else "shared-1:5441 shared-2:5442")
# Layout per cluster under $ATTACHE_POSTGRES_CLUSTERS_DIR (libs/testing reads the same):
#   <name>/data/  <name>/superuser.password  <name>/postgres.log  <name>/socket/
set -euo pipefail
# Directories must stay searchable by postgres; secret files are created under a tighter umask.
umask 022

PG_BIN="/usr/lib/postgresql/15/bin"
START_TIMEOUT_S=60

say() { echo "postgres-clusters: $*"; }
die() { echo "postgres-clusters: $*" >&2; exit 1; }

[ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 server binaries not found in $PG_BIN"

if [ "$(id -u)" = 0 ]; then
  AS_ROOT=1
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (initdb and pg_ctl refuse root)"
  DEFAULT_BASE=/var/lib/attache/postgres
else
  AS_ROOT=0
  DEFAULT_BASE="${XDG_STATE_HOME:-$HOME/.local/state}/attache/postgres"
fi
BASE="$(realpath -m -- "${ATTACHE_POSTGRES_CLUSTERS_DIR:-$DEFAULT_BASE}")"

if [ "$#" -gt 0 ]; then
  SPECS=("$@")
else
  read -r -a SPECS <<<"${ATTACHE_POSTGRES_CLUSTERS:-shared-1:5441 shared-2:5442}"
fi
declare -A SEEN=()
for spec in "${SPECS[@]}"; do
  [[ "$spec" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*:[0-9]{1,5}$ ]] || die "bad cluster '$spec': expected name:port"
  port="${spec##*:}"
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port in '$spec'"
  [ -z "${SEEN[n:${spec%%:*}]:-}" ] && [ -z "${SEEN[p:$port]:-}" ] || die "cluster name or port repeated in '${SPECS[*]}'"
  SEEN[n:${spec%%:*}]=1
  SEEN[p:$port]=1
done

if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then LOCALE=C.UTF-8; else LOCALE=C; fi

# The server tools resolve paths against the cwd, which the postgres user may not be able to enter.
cd /

# Runs a server tool as the cluster's OS user: postgres when we are root, else ourselves.
as_pg() {
  if [ "$AS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -t 1 >/dev/null 2>&1; }

new_password() {
  local pw=""
  while [ "${#pw}" -lt 48 ]; do
    pw+="$(head -c 256 /dev/urandom | tr -dc 'A-Za-z0-9' || true)"
  done
  printf '%s' "${pw:0:48}"
}

write_settings() {
  local dir=$1 port=$2
  # Rewritten on every start, so a changed port or layout takes effect.
  cat >"$dir/data/attache.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
unix_socket_permissions = 0700
password_encryption = scram-sha-256
max_connections = 200
shared_buffers = 32MB
work_mem = 4MB
maintenance_work_mem = 32MB
EOF
  cat >"$dir/data/pg_hba.conf" <<'EOF'
# Managed by scripts/postgres-clusters.sh. The socket directory is reachable only by root and postgres.
local all all                trust
host  all all 127.0.0.1/32   scram-sha-256
host  all all ::1/128        scram-sha-256
EOF
  if [ "$AS_ROOT" = 1 ]; then chown postgres: "$dir/data/attache.conf" "$dir/data/pg_hba.conf"; fi
  chmod 0600 "$dir/data/attache.conf" "$dir/data/pg_hba.conf"
}

prepare_dirs() {
  local dir=$1
  mkdir -p "$dir/socket"
  chmod 0755 "$dir"
  chmod 0700 "$dir/socket"
  [ -e "$dir/postgres.log" ] || : >"$dir/postgres.log"
  chmod 0600 "$dir/postgres.log"
  if [ "$AS_ROOT" = 1 ]; then
    chown postgres: "$dir/socket" "$dir/postgres.log"
    runuser -u postgres -- test -x "$dir" ||
      die "the postgres user cannot reach $dir: make every parent directory of $BASE searchable (o+x)"
  fi
}

create_cluster() {
  local dir=$1 name=$2
  local tmp="$dir/data.initdb"
  rm -rf "$tmp" "$dir"/.initdb-pw.*
  mkdir -m 0700 "$tmp"
  local pwfile="$dir/superuser.password"
  local initdb_pwfile="$pwfile"
  if [ "$AS_ROOT" = 1 ]; then
    chown postgres: "$tmp"
    # initdb runs as postgres and must read the password; give it a copy only for that call.
    initdb_pwfile="$(mktemp "$dir/.initdb-pw.XXXXXX")"
    cat "$pwfile" >"$initdb_pwfile"
    chown postgres: "$initdb_pwfile"
    chmod 0400 "$initdb_pwfile"
  fi
  local out status=0
  out="$(as_pg "$PG_BIN/initdb" -D "$tmp" -U postgres -E UTF8 --locale="$LOCALE" \
    --auth-local=trust --auth-host=scram-sha-256 --pwfile="$initdb_pwfile" 2>&1)" || status=$?
  if [ "$AS_ROOT" = 1 ]; then rm -f "$initdb_pwfile"; fi
  if [ "$status" != 0 ]; then
    echo "$out" >&2
    die "initdb failed for $name (see above)"
  fi
  echo "include 'attache.conf'" >>"$tmp/postgresql.conf"
  # Only a fully initialised data directory gets the real name; a crash leaves data.initdb to redo.
  mv "$tmp" "$dir/data"
}

# The port the running postmaster of a data directory listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null || true; }

start_cluster() {
  local dir=$1 name=$2 port=$3
  if port_answers "$port"; then
    die "port $port is in use by something other than cluster $name ($dir/data is not running): stop it or choose another port"
  fi
  write_settings "$dir" "$port"
  # 9>&-: the server must not inherit the lock descriptor, or it would hold the lock for its lifetime.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -s -w -t "$START_TIMEOUT_S" start >/dev/null 9>&-; then
    tail -n 20 "$dir/postgres.log" >&2 || true
    die "cluster $name did not start; see $dir/postgres.log"
  fi
}

wait_ready() {
  local dir=$1 name=$2 port=$3
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until pg_ready "$port"; do
    [ "$SECONDS" -lt "$deadline" ] || die "cluster $name is not accepting connections on 127.0.0.1:$port after ${START_TIMEOUT_S}s; see $dir/postgres.log"
    sleep 0.2
  done
}

# Restores the superuser password file of an existing cluster over its (trusted) local socket.
reset_password() {
  local dir=$1 port=$2
  ( umask 077; new_password >"$dir/superuser.password" )
  # The password goes through stdin, never argv.
  {
    printf "ALTER ROLE postgres PASSWORD '%s';\n" "$(cat "$dir/superuser.password")"
  } | as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$port" -U postgres -d postgres -f - >/dev/null ||
    die "could not set the superuser password of $dir"
}

ensure_cluster() {
  local name=$1 port=$2
  local dir="$BASE/$name"
  local outcome
  mkdir -p "$dir"
  prepare_dirs "$dir"
  local had_password=1
  if [ ! -s "$dir/superuser.password" ]; then
    had_password=0
    ( umask 077; new_password >"$dir/superuser.password" )
  fi
  chmod 0600 "$dir/superuser.password"

  if [ ! -f "$dir/data/PG_VERSION" ]; then
    [ ! -e "$dir/data" ] || die "$dir/data exists but is not a PostgreSQL data directory; move it away"
    if port_answers "$port"; then
      die "port $port is already in use by something that is not cluster $name (no data directory at $dir/data): stop it or choose another port"
    fi
    create_cluster "$dir" "$name"
    start_cluster "$dir" "$name" "$port"
    outcome=created
  else
    [ "$(cat "$dir/data/PG_VERSION")" = 15 ] || die "$dir/data is PostgreSQL $(cat "$dir/data/PG_VERSION"), expected 15"
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      local actual
      actual="$(running_port "$dir/data")"
      [ "$actual" = "$port" ] ||
        die "cluster $name is running on port ${actual:-?}, not $port: stop it with '$PG_BIN/pg_ctl -D $dir/data stop' (as postgres) or use port ${actual:-?}"
      outcome=reused
    else
      start_cluster "$dir" "$name" "$port"
      outcome=started
    fi
  fi
  wait_ready "$dir" "$name" "$port"
  if [ "$had_password" = 0 ] && [ "$outcome" != created ]; then
    reset_password "$dir" "$port"
  fi
  say "$name on 127.0.0.1:$port ($outcome)"
}

mkdir -p "$BASE"
chmod 0755 "$BASE"
exec 9>"$BASE/.lock"
flock -w 300 9 || die "timed out waiting for another run holding $BASE/.lock"

for spec in "${SPECS[@]}"; do
  ensure_cluster "${spec%%:*}" "${spec##*:}"
done
