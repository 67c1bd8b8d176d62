#!/usr/bin/env bash
# make cluster: the scale-out variant of `make run` (PROTOCOL.md §4, "Beyond
# one machine"). Starts PostgreSQL (data in .cluster/pgdata, kept between
# runs, fsync on), ws-server, rpc_server, two central servers sharing the
# database (-db, -proxy 127.0.0.1) and HAProxy (scripts/haproxy.cfg) on PORT
# (8888 by default), then a client prompt. Everything stops when the client
# exits, also on Ctrl-C; logs are in logs/.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
PORT=${1:-8888}
WS_PORT=${WS_PORT:-8000}
RPC_PORT=${RPC_PORT:-8001}
S1_PORT=${S1_PORT:-8891}
S2_PORT=${S2_PORT:-8892}
PG_PORT=${PG_PORT:-15432} # below the ephemeral ports, so no outgoing connection holds it
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
data=${P2P_PGDATA:-$PWD/.cluster/pgdata}
mkdir -p logs

for b in initdb pg_ctl postgres; do
  [ -x "$PGBIN/$b" ] || { echo "error: $PGBIN/$b not found: install PostgreSQL (make deps) or set PGBIN" >&2; exit 1; }
done
command -v haproxy >/dev/null || { echo "error: haproxy not found: run make deps (as root) or apt-get install haproxy" >&2; exit 1; }
for p in "$WS_PORT:ws-server" "$RPC_PORT:rpc_server" "$S1_PORT:server 1" "$S2_PORT:server 2" "$PORT:haproxy" "$PG_PORT:postgres"; do
  port_free "${p%%:*}" "${p#*:}" || exit 1
done

# PostgreSQL refuses to run as root: as root it runs as the postgres account,
# which must be able to reach the data folder.
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "error: running as root needs the postgres account (install postgresql)" >&2; exit 1; }
  as_pg() { runuser -u postgres -- "$@"; }
  mkdir -p "$data" && chown postgres: "$data" && chmod 700 "$data"
  if ! as_pg test -w "$data"; then
    echo "error: the postgres account cannot reach $data: a folder above it is not searchable by others." >&2
    echo "error: move the checkout (e.g. under /srv or /tmp) or set P2P_PGDATA to a folder postgres can reach." >&2
    exit 1
  fi
else
  mkdir -p "$data" && chmod 700 "$data"
fi
if [ ! -f "$data/PG_VERSION" ]; then
  echo "cluster: creating the PostgreSQL data folder $data" >&2
  # trust on 127.0.0.1 only (listen_addresses below): a development cluster.
  as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >logs/initdb.log 2>&1 \
    || { echo "error: initdb failed; logs/initdb.log says:" >&2; tail -n 20 logs/initdb.log >&2; exit 1; }
fi
pglog=$data/postgres.log # inside the data folder: the postgres account can write there
as_pg "$PGBIN/pg_ctl" -D "$data" -l "$pglog" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $data" start >/dev/null \
  || { echo "error: PostgreSQL did not start; $pglog says:" >&2; tail -n 20 "$pglog" >&2; exit 1; }

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1
  echo "cluster: stopped haproxy, both servers, ws-server, rpc_server and PostgreSQL (logs in logs/, data kept in $data)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'p2p'" postgres | grep -q 1; then
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE p2p" postgres || exit 1
fi
DSN="postgres://postgres@127.0.0.1:$PG_PORT/p2p?sslmode=disable"

start_services || exit 1
for n in 1 2; do
  port=S${n}_PORT
  LOG_RPC_IP=127.0.0.1 LOG_RPC_PORT=$RPC_PORT \
    ./server -p "${!port}" -db "$DSN" -proxy 127.0.0.1 >"logs/server$n.log" 2>&1 & pids+=($!)
done
wait_port 127.0.0.1 "$S1_PORT" "server 1" logs/server1.log || exit 1
wait_port 127.0.0.1 "$S2_PORT" "server 2" logs/server2.log || exit 1
P2P_FRONT=":$PORT" P2P_SERVER1="127.0.0.1:$S1_PORT" P2P_SERVER2="127.0.0.1:$S2_PORT" \
  haproxy -db -f scripts/haproxy.cfg >logs/haproxy.log 2>&1 & pids+=($!)
wait_port 127.0.0.1 "$PORT" haproxy logs/haproxy.log || exit 1

cat >&2 <<MSG
cluster: PostgreSQL on 127.0.0.1:$PG_PORT (database p2p, data in $data)
cluster: servers on :$S1_PORT and :$S2_PORT behind HAProxy on :$PORT; ws-server :$WS_PORT, rpc_server :$RPC_PORT
cluster: more peers: ./client -s 127.0.0.1 -p $PORT (follow: tail -f logs/server1.log logs/server2.log)
cluster: type HELP for the commands, QUIT (or Ctrl-D) to leave and stop everything
MSG
trap ':' INT
# P2P_CLIENT_DIR: the folder the client works in (its JSON files, the files
# it publishes and downloads); the checkout by default, as for make run.
root=$PWD
(cd "${P2P_CLIENT_DIR:-.}" && "$root/client" -s 127.0.0.1 -p "$PORT" -w "http://127.0.0.1:$WS_PORT/")
