#!/usr/bin/env bash
# Installs the pinned test tools (anvil, cast, solc-js, OpenZeppelin contracts, and the
# OP-stack predeploys' artifacts from @eth-optimism/contracts-bedrock) from the npm
# registry into tools/node_modules, which git ignores, and Debian's prometheus package
# (the Prometheus server and promtool: the oracle for docs/monitoring) when it is missing
# and we are root. Idempotent and quick when already installed.
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

# Prometheus and promtool from Debian. The package's service must not start: a
# policy-rc.d that denies it is put in place for the install unless one exists
# (container images usually have one). Tests run the binary on their own port.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tools.sh: installing Debian's prometheus package (prometheus, promtool); its service is not started" >&2
    policy=/usr/sbin/policy-rc.d
    added_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# added by vrwxctl scripts/tools.sh during apt-get install\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      added_policy=1
    fi
    status=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >&2 || status=$?
    [ -n "$added_policy" ] && rm -f "$policy"
    [ "$status" = 0 ] || { echo "tools.sh: apt-get install prometheus failed" >&2; exit 1; }
  else
    echo "tools.sh: prometheus/promtool not found and not root: install Debian's prometheus package (apt-get install prometheus); the docs/monitoring tests need them" >&2
  fi
fi
if command -v promtool >/dev/null; then promtool --version >/dev/null; fi
