#!/usr/bin/env bash
# The 5-minute tour (make demo): starts a local chain with the VRWX test contracts on a
# free port, runs vrwxctl's main commands against it as an operator would, and stops
# the chain. Nothing outside this repository's .devchain/demo is touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/bin/vrwxctl"
[ -x "$bin" ] || go build -o "$bin" ./cmd/vrwxctl
state="$root/.devchain/demo"
mkdir -p "$state"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18545)

# The demo's own config and state, so a user's real config is not read or changed.
export XDG_CONFIG_HOME="$state/config" XDG_STATE_HOME="$state/state"
export VRWXCTL_DEPLOYMENT="$state/deployment-local.json"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"

stop() { go run ./scripts/devchain --state-dir "$state" --stop >/dev/null 2>&1 || true; }
trap stop EXIT
echo "== starting a local chain with the VRWX test contracts (anvil on 127.0.0.1:$port)"
go run ./scripts/devchain --port "$port" --state-dir "$state" --deployment-file "$VRWXCTL_DEPLOYMENT"

# The relayer key of the local chain is anvil's public dev account 2. It goes into an
# environment variable, never into argv: vrwxctl takes a *reference* to it.
export RELAYER_PRIVATE_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a

run() {
  printf '\n\033[1m$ vrwxctl %s\033[0m\n' "$*"
  set +e
  "$bin" "$@"
  code=$?
  set -e
  printf '\033[2m(exit %d)\033[0m\n' "$code"
}

run version
run config view
run status
run wallet balance --signer env://RELAYER_PRIVATE_KEY
run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json
# Later commands join the tour as they land.
for extra in "contracts check" "job get 9" "job list" "robot get --name tenant-demo:active"; do
  # shellcheck disable=SC2086
  if "$bin" ${extra%% *} --help >/dev/null 2>&1; then run $extra; fi
done
echo
echo "== a mistake is caught before anything is sent:"
run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc
echo
echo "== done; stopping the chain"
