#!/usr/bin/env bash
# Starts or stops the stand-in for the VRWX API (scripts/devapi) in the background, for
# `make devapi` / `make devapi-stop` and the demo:
#
#   scripts/devapi.sh start SIGNER_REF [PORT]   (re)start it on 127.0.0.1:PORT (default
#                                               3000, the local profile's api_url),
#                                               relaying with the key behind SIGNER_REF
#   scripts/devapi.sh stop
#
# It is built (not `go run`) so that the pid in its pid file is its own: `kill -HUP PID`
# restarts it onto the reference's current key, as `key rotate --deploy-cmd` does. Its
# binary, pid file (devapi.pid) and log (devapi.log) live in $DEVAPI_DIR (default:
# the checkout's .devchain). start returns once it listens, printing its first line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="${DEVAPI_DIR:-$root/.devchain}"
pid_file="$dir/devapi.pid"
log="$dir/devapi.log"

stop() {
  local pid i
  pid=$(cat "$pid_file" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  # Only a process that is this stand-in: a stale pid may belong to something else now.
  if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = devapi ]; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "devapi: stopped (pid $pid)"
  fi
  rm -f "$pid_file"
}

start() {
  local signer=$1 port=${2:-3000} launched i
  mkdir -p "$dir"
  (cd "$root" && go build -o "$dir/devapi" ./scripts/devapi)
  stop >/dev/null
  : >>"$log"
  "$dir/devapi" --port "$port" --signer "$signer" --pid-file "$pid_file" >>"$log" 2>&1 &
  launched=$!
  for i in $(seq 100); do
    if [ -s "$pid_file" ]; then
      tail -1 "$log"
      if [ "$port" != 3000 ] && [ "${VRWX_API_URL:-}" != "http://127.0.0.1:$port" ]; then
        # The local profile's api_url is port 3000: on another, vrwxctl is told.
        echo "devapi: vrwxctl finds it on this port with: export VRWX_API_URL=http://127.0.0.1:$port"
      fi
      return 0
    fi
    kill -0 "$launched" 2>/dev/null || break
    sleep 0.1
  done
  echo "devapi: did not start (log: $log):" >&2
  tail -5 "$log" >&2
  return 1
}

case "${1:-}" in
  start)
    [ $# -ge 2 ] || { echo "usage: $0 start SIGNER_REF [PORT]" >&2; exit 2; }
    start "$2" "${3:-3000}" ;;
  stop) stop ;;
  *) echo "usage: $0 start SIGNER_REF [PORT] | stop" >&2; exit 2 ;;
esac
