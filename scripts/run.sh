#!/usr/bin/env bash
# make run: start ws-server (8000), rpc_server (8001) and server (PORT, 8888
# by default) in the background with their output in logs/, then a client
# prompt in the foreground. The three daemons stop when the client exits,
# also on Ctrl-C.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
PORT=${1:-8888}
WS_PORT=${WS_PORT:-8000}
RPC_PORT=${RPC_PORT:-8001}
mkdir -p logs
port_free "$WS_PORT" ws-server && port_free "$RPC_PORT" rpc_server && port_free "$PORT" server || exit 1

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  echo "run: stopped ws-server, rpc_server and server (logs in logs/)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_services || exit 1
LOG_RPC_IP=${LOG_RPC_IP:-127.0.0.1} LOG_RPC_PORT=${LOG_RPC_PORT:-$RPC_PORT} \
  ./server -p "$PORT" >logs/server.log 2>&1 & pids+=($!)
wait_port 127.0.0.1 "$PORT" server logs/server.log || exit 1

cat >&2 <<MSG
run: ws-server on :$WS_PORT, rpc_server on :$RPC_PORT, server on :$PORT
run: follow them with: tail -f logs/server.log logs/rpc_server.log
run: type HELP for the commands, QUIT (or Ctrl-D) to leave and stop everything
MSG
# Ctrl-C at the prompt is the client's to handle; keep this script alive until it exits.
trap ':' INT
./client -s 127.0.0.1 -p "$PORT" -w "http://127.0.0.1:$WS_PORT/"
