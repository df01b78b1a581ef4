#!/usr/bin/env bash
# make bench: vrwxctl against cast and sqlite3, side by side, with ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/bench "$@"
