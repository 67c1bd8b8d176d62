# Shared shell helpers for run.sh, cluster.sh and demo.sh (sourced, not run).

# wait_port HOST PORT NAME LOGFILE: wait up to 10 s for a TCP listener.
wait_port() {
  local host=$1 port=$2 name=$3 log=$4 i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "error: $name did not start listening on $host:$port; its log ($log) says:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# port_free PORT NAME: fail with a clear message when something listens there.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "error: port $1 (for $2) is already in use; stop what holds it (ss -ltnp 'sport = :$1') or pick another" >&2
    return 1
  fi
}

# start_services [LOGDIR [BINDIR]]: start ws-server on WS_PORT and
# rpc_server on RPC_PORT in the background (logs in LOGDIR, default logs;
# binaries from BINDIR, default .; their pids added to the caller's pids
# array) and wait until both listen.
start_services() {
  local logs=${1:-logs} bin=${2:-.}
  "$bin/ws-server" -p "$WS_PORT" >"$logs/ws-server.log" 2>&1 & pids+=($!)
  "$bin/rpc_server" -p "$RPC_PORT" >"$logs/rpc_server.log" 2>&1 & pids+=($!)
  wait_port 127.0.0.1 "$WS_PORT" ws-server "$logs/ws-server.log" &&
    wait_port 127.0.0.1 "$RPC_PORT" rpc_server "$logs/rpc_server.log"
}
