#!/usr/bin/env bash
# Fills data/ (git-ignored) with the public data sets the recipes, tests and docs read: STS-B in
# 11 languages (stsb-multi-mt), SICK 2014 and the XQuAD train split in 8 languages, each verified
# against the sha256 committed in scripts/data/sources.tsv. Sources and licenses: docs/data.md.
#
# Usage: scripts/get-data.sh [PATH_PREFIX ...]     e.g. scripts/get-data.sh stsb-multi-mt sick
#   Copies from data when it is beside the clone, otherwise downloads from upstream.
#   TASKLORA_DATA           where to write (default ./data)
#   TASKLORA_SHARED_DATA    the local copy to prefer (default ../shared/data)
#   TASKLORA_DATA_UPSTREAM  base URL of the upstream files (default https://raw.githubusercontent.com;
#                           a file:// URL points at a local mirror laid out as OWNER/REPO/HEAD/PATH)
# Exit status 1 when a file could not be had or failed its checksum (one line each on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/data/get_data.py "$@"
