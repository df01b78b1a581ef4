#!/usr/bin/env bash
# Installs the pinned test tools (anvil, cast, solc-js, OpenZeppelin contracts, and the
# OP-stack predeploys' artifacts from @eth-optimism/contracts-bedrock) from the npm
# registry into tools/node_modules, which git ignores. Idempotent and quick when
# already installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) plat=linux-amd64 ;;
  Linux-aarch64|Linux-arm64) plat=linux-arm64 ;;
  Darwin-x86_64) plat=darwin-amd64 ;;
  Darwin-arm64) plat=darwin-arm64 ;;
  *) echo "tools.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
anvil="$tools/node_modules/@foundry-rs/anvil-$plat/bin/anvil"
cast="$tools/node_modules/@foundry-rs/cast-$plat/bin/cast"
if [ ! -x "$anvil" ] || [ ! -x "$cast" ] || [ ! -f "$tools/node_modules/solc/soljson.js" ] \
   || [ ! -d "$tools/node_modules/@openzeppelin/contracts" ] \
   || [ ! -f "$tools/node_modules/@eth-optimism/contracts-bedrock/forge-artifacts/GasPriceOracle.sol/GasPriceOracle.json" ] \
   || [ ! -f "$tools/node_modules/@eth-optimism/contracts-bedrock/forge-artifacts/L1Block.sol/L1Block.json" ]; then
  command -v npm >/dev/null || { echo "tools.sh: npm is needed to install anvil/cast/solc (apt-get install nodejs npm)" >&2; exit 1; }
  echo "tools.sh: installing pinned anvil, cast, solc-js, OpenZeppelin, OP-stack artifacts into tools/node_modules" >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
"$anvil" --version >/dev/null
"$cast" --version >/dev/null
