#!/usr/bin/env bash
# make demo: a scripted session of two peers against freshly started daemons.
# alice registers, connects and publishes a file; bob lists users and
# content and downloads alice's file, which is checked byte-identical. Prints
# both transcripts, the central server's console and the log server's lines.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/p2p-demo.XXXXXX")
PORT=${PORT:-18888}; WS_PORT=${WS_PORT:-18000}; RPC_PORT=${RPC_PORT:-18001}
port_free "$WS_PORT" ws-server && port_free "$RPC_PORT" rpc_server && port_free "$PORT" server || exit 1
mkdir -p "$work/server" "$work/alice" "$work/bob"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

start_services "$work" "$root" || exit 1
(cd "$work/server" && LOG_RPC_IP=127.0.0.1 LOG_RPC_PORT=$RPC_PORT exec "$root/server" -p "$PORT") \
  >"$work/server.log" 2>&1 & pids+=($!)
wait_port 127.0.0.1 "$PORT" server "$work/server.log" || exit 1

client() { "$root/client" -s 127.0.0.1 -p "$PORT" -w "http://127.0.0.1:$WS_PORT/"; }
head -c 3000000 /dev/urandom >"$work/alice/photo.jpg"

# alice stays connected (her stdin stays open) until bob is done.
mkfifo "$work/alice.in"
(cd "$work/alice" && client <"$work/alice.in" >"$work/alice.out" 2>"$work/alice.err") & alice=$!
exec 7>"$work/alice.in"
printf '%s\n' 'REGISTER alice' 'CONNECT alice' 'PUBLISH photo.jpg our holiday, day 1' >&7
for i in $(seq 1 50); do grep -q 'PUBLISH OK' "$work/alice.out" 2>/dev/null && break; sleep 0.1; done

(cd "$work/bob" && printf '%s\n' 'REGISTER bob' 'CONNECT bob' 'LIST_USERS' 'LIST_CONTENT alice' \
  'GET_FILE alice photo.jpg copy.jpg' 'GET_FILE alice nothing.txt nothing.txt' 'DISCONNECT bob' 'QUIT' \
  | client >"$work/bob.out" 2>"$work/bob.err")

printf '%s\n' 'DISCONNECT alice' 'QUIT' >&7
exec 7>&-
wait "$alice"
sleep 0.3

show() { echo "===== $1"; cat "$2"; }
show "alice (stdout)" "$work/alice.out"
show "bob (stdout)" "$work/bob.out"
show "central server console" "$work/server.log"
show "log server (rpc_server) lines" "$work/rpc_server.log"
echo "===== files"
(cd "$work/server" && for f in users.csv connected.csv; do echo "--- $f"; cat "$f"; done)
echo "--- bob/listusers-bob.json"; cat "$work/bob/listusers-bob.json"; echo
if cmp -s "$work/alice/photo.jpg" "$work/bob/copy.jpg"; then
  echo "demo: OK, bob's copy.jpg is byte-identical to alice's photo.jpg ($(stat -c %s "$work/bob/copy.jpg") bytes)"
  rm -rf "$work"
else
  echo "demo: FAILED, the downloaded file differs or is missing (work folder kept: $work)" >&2
  exit 1
fi
