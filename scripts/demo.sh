#!/usr/bin/env bash
# The 5-minute tour (make demo): starts a local chain with the VRWX test contracts and a
# stand-in for the VRWX API (scripts/devapi: GET /health, relaying from the key it
# loaded) on free ports, runs vrwxctl's main commands against them as an operator
# would — status, health, a whole key rotation with `key rotate` — and stops both.
# Nothing outside this repository's .devchain/demo is touched.
#
# VRWXCTL_DEMO_BIN (default bin/vrwxctl, built when missing) and VRWXCTL_DEMO_STATE
# (default .devchain/demo) let a test run the tour with its own binary and directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="${VRWXCTL_DEMO_BIN:-$root/bin/vrwxctl}"
[ -x "$bin" ] || go build -o "$bin" ./cmd/vrwxctl
state="${VRWXCTL_DEMO_STATE:-$root/.devchain/demo}"
mkdir -p "$state"
# Two free ports (scripts/freeport: Go, which the build needs anyway), so the tour
# never collides with a chain or an API already running on the default ones.
{ read -r port; read -r api_port; } < <(go run ./scripts/freeport 2)

# The demo's own config and state, so a user's real config is not read or changed;
# the state (audit log, rotation journals) of an earlier tour describes a chain that
# is gone, so it goes. Settings a user exported for a real system do not steer the tour.
export XDG_CONFIG_HOME="$state/config" XDG_STATE_HOME="$state/state"
rm -rf "$XDG_STATE_HOME"
unset VRWX_PROFILE VRWXCTL_CONFIG RPC_URL JOB_ESCROW_ADDRESS IDENTITY_REGISTRY_ADDRESS \
  VRWX_SETTLEMENT_TOKEN DATABASE_PATH VRWX_SIGNER VRWX_RELAYER_ADDRESS VRWX_TREASURY_ADDRESS \
  VRWX_TREASURY_SIGNER MAX_FEE_PER_GAS_GWEI MAX_PRIORITY_FEE_GWEI GAS_LIMIT_MULTIPLIER VRWX_BACKUP_LOCATION
# The chain's deployment, written by devchain into its state directory.
export VRWXCTL_DEPLOYMENT="$state/deployment.json"
# The API that status, health and key rotate read (the local profile's api_url is
# http://127.0.0.1:3000; the stand-in runs on a free port instead).
export VRWX_API_URL="http://127.0.0.1:$api_port"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"

# The API stand-in (scripts/devapi.sh starts and stops it): its binary, pid file and
# log live in the demo's state directory. The rotation restarts it with `kill -HUP PID`.
export DEVAPI_DIR="$state"
api_pid() { cat "$state/devapi.pid" 2>/dev/null; }
start_api() { scripts/devapi.sh start "$1" "$api_port"; } # $1: the signer reference it relays with
stop_api() { scripts/devapi.sh stop >/dev/null; }
stop() {
  stop_api
  go run ./scripts/devchain --state-dir "$state" --stop >/dev/null 2>&1 || true
}
trap stop EXIT
echo "== starting a local chain with the VRWX test contracts (anvil on 127.0.0.1:$port)"
go run ./scripts/devchain --port "$port" --state-dir "$state"

# The relayer key of the local chain is anvil's public dev account 2. It goes into an
# environment variable, never into argv: vrwxctl takes a *reference* to it.
export RELAYER_PRIVATE_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a

echo
echo "== starting a stand-in for the VRWX API on 127.0.0.1:$api_port (GET /health), relaying with env://RELAYER_PRIVATE_KEY"
rm -f "$state/devapi.log"
start_api env://RELAYER_PRIVATE_KEY

# run shows a command and its exit code; a code other than $want (0 unless set for
# that one command) fails the demo at the end, so `make demo` passing means every
# step did what the tour says.
unexpected=0
# shown prints a command line with the arguments that hold spaces quoted, as typed.
shown() {
  local a line=
  for a in "$@"; do
    case $a in *[[:space:]]*) line+=" '$a'" ;; *) line+=" $a" ;; esac
  done
  printf '%s' "${line# }"
}
run() {
  printf '\n\033[1m$ vrwxctl %s\033[0m\n' "$(shown "$@")"
  set +e
  "$bin" "$@"
  code=$?
  set -e
  printf '\033[2m(exit %d)\033[0m\n' "$code"
  if [ "$code" != "${want:-0}" ]; then
    printf 'demo: expected exit %s from vrwxctl %s\n' "${want:-0}" "$(shown "$@")" >&2
    unexpected=$((unexpected + 1))
  fi
}

run version
run config view
# The whole system, the API included: it relays from the profile's relayer.
run status
run health --expect-signer env://RELAYER_PRIVATE_KEY
run wallet balance --signer env://RELAYER_PRIVATE_KEY
run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json
run contracts check
run job get 9
run job list --status FUNDED
run job events --from-block -20 --type CompletionSubmitted
run robot get --name tenant-demo:deactivated

echo
echo "== key rotation (the runbook's seven steps) in one command, with a 0600 key file instead of AWS/Vault:"
keys="$state/keys"; mkdir -p "$keys"; rm -f "$keys"/relayer.hex*
store="file://$keys/relayer.hex"
export TREASURY_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d   # anvil's (public) dev key 1, the treasury
# The relayer in service: the store's current key, funded as a running relayer is,
# and the API restarted onto it.
run key generate --store "$store"
old=$("$bin" key address --signer "$store")
run wallet fund --to "$old" --amount 0.2ether --signer env://TREASURY_KEY --yes --reason "demo: the relayer in service"
printf '\n\033[1m$ scripts/devapi.sh start %s %s   # the API restarted onto the store\033[0m\n' "$store" "$api_port"
start_api "$store"
run status --signer "$store"
# One command: generate the new key as the store's pending version, fund it from the
# treasury (the profile's rotation_fund_eth), promote it, restart the API (here:
# SIGHUP to the stand-in, which loads the store's current key again), wait until
# /health reports the new address, wait for the old key's pending transactions, and
# drain the old wallet back to the treasury.
run key rotate --store "$store" --treasury-signer env://TREASURY_KEY --deploy-cmd "kill -HUP $(api_pid)" --yes --reason "demo: scheduled rotation"
echo "the API stand-in's log:"
tail -1 "$state/devapi.log"
new=$("$bin" key address --signer "$store")
run key versions --store "$store"
run health --expect-signer "$store"
run tx status "$(grep '"txHash"' "$XDG_STATE_HOME/vrwxctl/audit.log" | tail -1 | sed 's/.*"txHash":"\(0x[0-9a-f]*\)".*/\1/')"
run wallet balance "$old"
run wallet balance "$new"
run status --signer "$store"
# The rotation's end state: the store serves a new key (the old one is its previous
# version), the API relays from it, the old relayer is empty, the new one holds the
# profile's rotation_fund_eth (0.5 ETH on the local profile).
check() { if ! "$@" >/dev/null 2>&1; then echo "demo: end state: $desc" >&2; exit 1; fi; }
desc="the store's current key is still the old relayer $old"; check test "$new" != "$old"
desc="the store's previous version is not the old relayer $old"; check test "$("$bin" key address --signer "$store?stage=previous")" = "$old"
desc="the API does not relay from the new relayer $new"; check "$bin" health --expect-relayer "$new"
desc="the old relayer $old was not drained to 0 wei"; check grep -q '(0 wei)' <("$bin" wallet balance "$old")
desc="the new relayer $new does not hold 0.5 ETH"; check grep -q '(500000000000000000 wei)' <("$bin" wallet balance "$new")
echo
echo "demo: rotated: the store's current key is $new (the API relays from it, 0.5 ETH); the old relayer $old is drained to 0 wei"
echo
echo "== after the tour, a plain status: the profile names its relayer by address (the deployment file's,"
echo "   the key the rotation retired); status checks the store's current key and says which setting is"
echo "   out of date (a warning, exit 5); with that setting, it is green"
want=5 run status
export VRWX_SIGNER="$store"
run status
unset VRWX_SIGNER
echo
echo "== a mistake is caught before anything is sent:"
want=2 run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc
echo
echo "== done; stopping the API stand-in and the chain"
if [ "$unexpected" -ne 0 ]; then
  echo "demo: $unexpected step(s) did not exit as expected" >&2
  exit 1
fi
