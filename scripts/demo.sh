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
# The chain's deployment, written by devchain into its state directory.
export VRWXCTL_DEPLOYMENT="$state/deployment.json"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"

stop() { go run ./scripts/devchain --state-dir "$state" --stop >/dev/null 2>&1 || true; }
trap stop EXIT
echo "== starting a local chain with the VRWX test contracts (anvil on 127.0.0.1:$port)"
go run ./scripts/devchain --port "$port" --state-dir "$state"

# The relayer key of the local chain is anvil's public dev account 2. It goes into an
# environment variable, never into argv: vrwxctl takes a *reference* to it.
export RELAYER_PRIVATE_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a

# run shows a command and its exit code; a code other than $want (0 unless set for
# that one command) fails the demo at the end, so `make demo` passing means every
# step did what the tour says.
unexpected=0
run() {
  printf '\n\033[1m$ vrwxctl %s\033[0m\n' "$*"
  set +e
  "$bin" "$@"
  code=$?
  set -e
  printf '\033[2m(exit %d)\033[0m\n' "$code"
  if [ "$code" != "${want:-0}" ]; then
    printf 'demo: expected exit %s from vrwxctl %s\n' "${want:-0}" "$*" >&2
    unexpected=$((unexpected + 1))
  fi
}

run version
run config view
run status
run wallet balance --signer env://RELAYER_PRIVATE_KEY
run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC -o json
run contracts check
run job get 9
run job list --status FUNDED
run job events --from-block -20 --type CompletionSubmitted
run robot get --name tenant-demo:deactivated

echo
echo "== key rotation, runbook steps 1-3 and 7, into a 0600 key file instead of AWS/Vault:"
keys="$state/keys"; mkdir -p "$keys"; rm -f "$keys"/relayer.hex*
store="file://$keys/relayer.hex"
treasury=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil dev account 1
export TREASURY_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d   # its (public) dev key
# The relayer in service: the store's current key, funded as a running relayer is.
run key generate --store "$store"
old=$("$bin" key address --signer "$store")
run wallet fund --to "$old" --amount 0.2ether --signer env://TREASURY_KEY --yes --reason "demo: the relayer in service"
# Step 1: the new key, written next to it as pending; step 2: fund it.
printf '\n\033[1m$ new=$(vrwxctl key generate --store %s)\033[0m\n' "$store"
new=$("$bin" key generate --store "$store")
echo "$new"
run key versions --store "$store"
run wallet fund --to "$new" --amount 0.5ether --signer env://TREASURY_KEY --yes --reason "demo: new relayer"
# Step 3: the new key becomes current; the old one is kept as the previous version.
run key promote --store "$store" --yes
# Step 7: drain the OLD relayer, now the store's previous version (its sibling file
# relayer.hex.previous), back to the treasury. The new relayer keeps its funds.
run wallet drain --signer "$store.previous" --to "$treasury" --yes --reason "demo: drain the old relayer"
run tx status "$(tail -1 "$XDG_STATE_HOME/vrwxctl/audit.log" | sed 's/.*"txHash":"\(0x[0-9a-f]*\)".*/\1/')"
run wallet balance "$old"
run wallet balance "$new"
# The rotation's end state: the store serves the new key, the old relayer is empty,
# the new one still holds its funding.
[ "$("$bin" key address --signer "$store")" = "$new" ] || { echo "demo: the store's current key is not the new relayer" >&2; exit 1; }
"$bin" wallet balance "$old" | grep -q '(0 wei)' || { echo "demo: the old relayer $old was not drained" >&2; exit 1; }
"$bin" wallet balance "$new" | grep -q '(500000000000000000 wei)' || { echo "demo: the new relayer $new lost its funding" >&2; exit 1; }
echo
echo "== a mistake is caught before anything is sent:"
want=2 run wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc
echo
echo "== done; stopping the chain"
if [ "$unexpected" -ne 0 ]; then
  echo "demo: $unexpected step(s) did not exit as expected" >&2
  exit 1
fi
