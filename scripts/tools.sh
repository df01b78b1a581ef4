#!/usr/bin/env bash
# Installs the pinned test tools: anvil, cast, solc-js and OpenZeppelin contracts from
# the npm registry into tools/node_modules, staticcheck from the Go module proxy into
# tools/bin (both ignored by git), and the sqlite3 CLI (a test oracle) with apt-get
# when it is missing and this runs as root. Idempotent and quick when already
# installed.
set -euo pipefail
staticcheck_version=v0.8.2
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
   || [ ! -d "$tools/node_modules/@openzeppelin/contracts" ]; then
  command -v npm >/dev/null || { echo "tools.sh: npm is needed to install anvil/cast/solc (apt-get install nodejs npm)" >&2; exit 1; }
  echo "tools.sh: installing pinned anvil, cast, solc-js, OpenZeppelin into tools/node_modules" >&2
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
