#!/bin/sh
# Runs every unit test binary and fuzz-corpus replay in BUILD, then the same
# under ASan+UBSan (unless KDW_NO_ASAN=1 or the second argument is "unit"),
# and prints one closing line "N passed, M failed".
build=${1:-build}
mode=${2:-all}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

run_suite() { # $1 = build dir, $2 = label
    for t in "$1"/tests/test_*; do
        [ -x "$t" ] || continue
        "$t" >"$log.out" 2>&1; rc=$?
        line=$(grep -E '^[a-z_0-9]+: [0-9]+ passed, [0-9]+ failed$' "$log.out" | tail -n 1)
        if [ -z "$line" ]; then
            cat "$log.out"; echo "$2 $(basename "$t"): crashed (exit $rc)"
            echo "0 1" >>"$log"; status=1; continue
        fi
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
        f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
        if [ "$f" != 0 ] || [ "$rc" != 0 ]; then cat "$log.out"; status=1; [ "$f" = 0 ] && f=1; fi
        echo "$2 $line"
        echo "$p $f" >>"$log"
    done
    for r in "$1"/fuzz/replay_*; do
        [ -x "$r" ] || continue
        name=${r##*/replay_}
        if "$r" tests/fuzz/corpus/"$name" >"$log.out" 2>&1; then
            echo "$2 fuzz corpus $name: $(tail -n 1 "$log.out")"; echo "1 0" >>"$log"
        else
            cat "$log.out"; echo "$2 fuzz corpus $name: FAILED"; echo "0 1" >>"$log"; status=1
        fi
    done
}

run_suite "$build" "[plain]"
if sh scripts/check_layering.sh; then echo "1 0" >>"$log"; else echo "0 1" >>"$log"; status=1; fi
# the one .clang-format holds for every C file
if command -v clang-format >/dev/null 2>&1; then
    if make --no-print-directory format-check >"$log.out" 2>&1; then echo "[plain] format-check: ok"; echo "1 0" >>"$log"
    else grep -m 5 "error:" "$log.out"; echo "[plain] format-check: FAILED (make format)"; echo "0 1" >>"$log"; status=1; fi
fi
if [ "$mode" = all ] && [ "${KDW_NO_ASAN:-0}" != 1 ]; then
    make --no-print-directory asan >"$log.out" 2>&1 || { cat "$log.out"; echo "asan build failed"; echo "0 1" >>"$log"; status=1; }
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite build/asan "[asan+ubsan]"
fi
# Each libFuzzer target runs briefly (5 s) from a copy of its seed corpus.
if [ "$mode" = all ] && [ "${KDW_NO_FUZZ:-0}" != 1 ]; then
    if make --no-print-directory fuzz >"$log.out" 2>&1; then
        for f in build/libfuzzer/fuzz_*; do
            [ -x "$f" ] || continue
            name=${f##*/fuzz_}
            work=$(mktemp -d)
            cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
            if "$f" -max_total_time=5 -timeout=10 -rss_limit_mb=2048 "$work" >"$log.fz" 2>&1; then
                echo "[libfuzzer] $name: $(grep -o 'Done [0-9]* runs' "$log.fz" | tail -n 1)"
                echo "1 0" >>"$log"
            else
                tail -n 30 "$log.fz"; echo "[libfuzzer] $name: FAILED"; echo "0 1" >>"$log"; status=1
            fi
            rm -rf "$work" "$log.fz"
        done
    else
        tail -n 20 "$log.out"; echo "libFuzzer build failed"; echo "0 1" >>"$log"; status=1
    fi
fi
if [ "$mode" = all ] && [ -x tests/e2e/run.sh ]; then
    sh tests/e2e/run.sh "$build" >"$log.out" 2>&1; rc=$?
    grep -E '^(ok|FAIL) ' "$log.out"
    p=$(grep -c '^ok ' "$log.out"); f=$(grep -c '^FAIL ' "$log.out")
    [ "$rc" != 0 ] && [ "$f" = 0 ] && { tail -n 20 "$log.out"; f=1; }
    echo "$p $f" >>"$log"; [ "$f" = 0 ] || status=1
fi
rm -f "$log.out"
awk '{p+=$1; f+=$2} END {printf "check: %d passed, %d failed\n", p, f}' "$log"
exit $status
