#!/usr/bin/env bash
# Builds and runs one libFuzzer target over tasklora's readers (see fuzz/ and docs/reliability.md).
#
#   scripts/fuzz.sh TARGET [SECONDS] [extra libFuzzer flags…]   run TARGET for SECONDS (default 60)
#   scripts/fuzz.sh list                                         the targets
#   scripts/fuzz.sh build TARGET                                 build only
#   scripts/fuzz.sh all SECONDS                                  every target, one after the other,
#                                                                then a table: runs, corpus, findings
#
# The TaskLoRA library is compiled once with -sanitize=fuzzer,address (coverage + ASan) into
# .build-fuzz; each target is fuzz/FuzzSupport.swift + fuzz/<Target>Fuzz.swift linked against it.
# Seeds come from fuzz/corpus/<target>/ (checked in); new inputs go to .build-fuzz/corpus/<target>/;
# crashes, leaks, timeouts and out-of-memory inputs to .build-fuzz/findings/<target>/.
# A single allocation over 256 MB is reported as a finding (-malloc_limit_mb): inputs are capped at
# 64 KiB, so no reader may allocate that much on the word of a file.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${TASKLORA_FUZZ_SCRATCH:-.build-fuzz}  # a second folder lets two campaigns build side by side
targets=(safetensors checkpoint e5s1 tokenizer-json unigram wordpiece recipe data-readers config-json)
source_of() {
    case "$1" in
        safetensors) echo SafeTensorsFuzz ;; checkpoint) echo CheckpointFuzz ;; e5s1) echo E5S1Fuzz ;;
        tokenizer-json) echo TokenizerJSONFuzz ;; unigram) echo UnigramFuzz ;; wordpiece) echo WordPieceFuzz ;;
        recipe) echo RecipeFuzz ;; data-readers) echo DataReadersFuzz ;; config-json) echo ConfigJSONFuzz ;;
        *) echo "unknown target $1 (targets: ${targets[*]})" >&2; exit 2 ;;
    esac
}

build_library() {
    swift build -c release --scratch-path "$scratch" --target TaskLoRA \
        -Xswiftc -sanitize=fuzzer,address >&2
}

build_target() {
    local target=$1 src
    src=$(source_of "$target")
    build_library
    local out="$scratch/fuzzers/$target"
    mkdir -p "$scratch/fuzzers"
    # shellcheck disable=SC2046
    swiftc -O -parse-as-library -sanitize=fuzzer,address -module-name "Fuzz_${src}" \
        -I "$scratch/release/Modules" -I Sources/CHDF5 -I Sources/CBLAS -I "$scratch/checkouts/Yams/Sources/CYaml/include" \
        $(pkg-config --cflags hdf5 openblas | sed 's/-I/-Xcc -I/g') \
        fuzz/FuzzSupport.swift "fuzz/$src.swift" \
        "$scratch"/release/TaskLoRA.build/*.o "$scratch"/release/Yams.build/*.o \
        $(find "$scratch/release/CYaml.build" -name '*.o') \
        $(pkg-config --libs hdf5 openblas) -lhdf5_hl \
        -o "$out" 2> >(grep -v "Cannot export local symbol" >&2)
    echo "$out"
}

case "${1:-}" in
    ""|-h|--help) sed -n 2,15p "$0"; exit 0 ;;
    list) printf '%s\n' "${targets[@]}"; exit 0 ;;
    build) build_target "${2:?build which target?}"; exit 0 ;;
esac

if [ "$1" = all ]; then
    seconds=${2:?seconds per target}
    mkdir -p "$scratch/logs"
    for t in "${targets[@]}"; do
        "$0" "$t" "$seconds" > "$scratch/logs/$t.log" 2>&1 || true
    done
    printf '%-15s %8s %10s %8s %s\n' target seconds executions corpus findings
    for t in "${targets[@]}"; do
        runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch/logs/$t.log" | awk '{print $2}' | tail -1)
        found=$(ls "$scratch/findings/$t" 2>/dev/null | wc -l)
        units=$(ls "$scratch/corpus/$t" 2>/dev/null | wc -l)
        printf '%-15s %8s %10s %8s %s\n' "$t" "$seconds" "${runs:-?}" "$units" "$found"
    done
    exit 0
fi

target=$1
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
exe=$(build_target "$target")
corpus="$scratch/corpus/$target" findings="$scratch/findings/$target"
mkdir -p "$corpus" "$findings"
export SWIFT_BACKTRACE=enable=no
export TASKLORA_FUZZ_TMP="${TASKLORA_FUZZ_TMP:-/dev/shm}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}"
# HDF5Sandbox's child (the checkpoint target) must stay below -malloc_limit_mb and -timeout: a
# libhdf5 fault there is reported as an error by the parent, which is what is under test.
export TASKLORA_HDF5_SANDBOX_MEMORY_MB="${TASKLORA_HDF5_SANDBOX_MEMORY_MB:-200}"
export TASKLORA_HDF5_SANDBOX_TIMEOUT="${TASKLORA_HDF5_SANDBOX_TIMEOUT:-3}"
# Seeds are read from fuzz/corpus/<target> but never written there (the first directory gets new units).
"$exe" "$corpus" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=256 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$@"
