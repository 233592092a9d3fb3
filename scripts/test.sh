#!/usr/bin/env bash
# Runs every test: installs build dependencies if missing, fetches the real models (cached),
# then `swift test` in release mode (the numeric tests are slow in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TASKLORA_CACHE="${TASKLORA_CACHE:-$PWD/cache}"
swift test -c release -Xswiftc -enable-testing "$@"
