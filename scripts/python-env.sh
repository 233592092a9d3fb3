#!/usr/bin/env bash
# Makes the Python reference stack the interop tests and scripts/reference/ run on: a virtual
# environment at $TASKLORA_CACHE/venv (default ./cache/venv) with scripts/reference/requirements.txt
# (torch pinned to its CPU build). Created once and reused; made again when requirements.txt
# changes (its sha256 is kept in the venv) or when an earlier install did not finish. Prints the
# interpreter's path as its last line. About 1 minute and 1.4 GB the first time.
# Usage: scripts/python-env.sh        (then e.g. HF_HUB_OFFLINE=1 "$(scripts/python-env.sh | tail -1)" x.py)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${TASKLORA_CACHE:-$PWD/cache}"
VENV="$CACHE/venv"
REQUIREMENTS=scripts/reference/requirements.txt
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
stamp="$VENV/.tasklora-requirements.sha256"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "$VENV/bin/python"
    exit 0
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "python-env: installing python3-venv" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
echo "python-env: creating $VENV from $REQUIREMENTS (about a minute)" >&2
rm -rf "$VENV"
mkdir -p "$CACHE"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2
echo "$want" > "$stamp"   # written last: an interrupted install is redone next time
echo "$VENV/bin/python"
