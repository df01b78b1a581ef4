#!/usr/bin/env bash
# Installs the pinned tools, idempotent and quick when already installed.
#
#   scripts/tools.sh chain   what the demo and `make devchain` use: anvil alone, from
#                            the npm registry into tools/node_modules (npm ci --omit=dev:
#                            tools/package.json's only dependency)
#   scripts/tools.sh         everything the tests use (make test): the above plus cast,
#                            solc-js, OpenZeppelin and the OP-stack predeploys' artifacts
#                            (@eth-optimism/contracts-bedrock: the devDependencies),
#                            staticcheck and litestream from the Go module proxy into
#                            tools/bin (both ignored by git), and, when missing and this
#                            runs as root, the sqlite3 CLI (a test oracle) and Debian's
#                            prometheus package (Prometheus and promtool: the oracle for
#                            docs/monitoring) with apt-get. Without root they are
#                            reported, and the tests that need them skip (fail under CI).
set -euo pipefail
what=${1:-all}
case $what in chain|all) ;; *) echo "tools.sh: unknown argument $what (expected chain, or nothing for all)" >&2; exit 2 ;; esac
staticcheck_version=v0.8.2
litestream_version=v0.5.18
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
need_npm() { command -v npm >/dev/null || { echo "tools.sh: npm is needed to install anvil (apt-get install nodejs npm, or https://nodejs.org)" >&2; exit 1; }; }
if [ "$what" = chain ]; then
  if [ ! -x "$anvil" ]; then
    need_npm
    echo "tools.sh: installing the pinned anvil into tools/node_modules (the demo's chain; the tests' tools come with make tools)" >&2
    (cd "$tools" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2)
  fi
  "$anvil" --version >/dev/null
  exit 0
fi
if [ ! -x "$anvil" ] || [ ! -x "$cast" ] || [ ! -f "$tools/node_modules/solc/soljson.js" ] \
   || [ ! -d "$tools/node_modules/@openzeppelin/contracts" ] \
   || [ ! -f "$tools/node_modules/@eth-optimism/contracts-bedrock/forge-artifacts/GasPriceOracle.sol/GasPriceOracle.json" ] \
   || [ ! -f "$tools/node_modules/@eth-optimism/contracts-bedrock/forge-artifacts/L1Block.sol/L1Block.json" ]; then
  need_npm
  echo "tools.sh: installing pinned anvil, cast, solc-js, OpenZeppelin, OP-stack artifacts into tools/node_modules" >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
"$anvil" --version >/dev/null
"$cast" --version >/dev/null

# staticcheck, pinned; rebuilt when the pin or the Go toolchain changes, because it
# must understand the Go version the module declares.
staticcheck="$tools/bin/staticcheck"
want="(${staticcheck_version#v})"
gover=$(go env GOVERSION)
if [ ! -x "$staticcheck" ] || ! "$staticcheck" -version 2>/dev/null | grep -qF "$want" \
   || ! "$staticcheck" -debug.version 2>/dev/null | grep -q "Compiled with Go version: $gover\$"; then
  echo "tools.sh: installing staticcheck $staticcheck_version into tools/bin" >&2
  GOBIN="$tools/bin" go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck" -version >/dev/null

# litestream, pinned (the version go.mod pins for vrwxctl-litestream): the tests run
# the real `litestream replicate` and the benchmark compares `litestream restore`
# with vrwxctl's. Built from the Go module proxy, pure Go (modernc.org/sqlite).
litestream="$tools/bin/litestream"
if [ ! -x "$litestream" ] || ! "$litestream" version 2>/dev/null | grep -qF "$litestream_version"; then
  echo "tools.sh: installing litestream $litestream_version into tools/bin" >&2
  CGO_ENABLED=0 GOBIN="$tools/bin" go install "github.com/benbjohnson/litestream/cmd/litestream@$litestream_version"
fi
"$litestream" version >/dev/null

# sqlite3 is the independent oracle the database tests compare against. Tests that
# need it fail under CI when it is missing, so CI machines must have it.
if ! command -v sqlite3 >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tools.sh: installing sqlite3 (the database tests' oracle) with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q sqlite3 >&2 || { apt-get update -q >&2 && apt-get install -y -q sqlite3 >&2; }
  elif [ -n "${CI:-}" ]; then
    echo "tools.sh: sqlite3 is not installed and cannot be installed here (needs root and apt-get); the database tests need it under CI: install the sqlite3 package" >&2
    exit 1
  else
    echo "tools.sh: sqlite3 is not installed (apt-get install sqlite3, brew install sqlite); the database tests that use it as an oracle will skip" >&2
  fi
fi

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
