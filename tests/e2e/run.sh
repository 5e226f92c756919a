#!/bin/sh
# run.sh: runs every tests/e2e/t_*.sh from the repository root with the build
# directory as its argument. Each script prints "ok NAME" or "FAIL NAME: why"
# lines (scripts/run_checks.sh counts them) and exits non-zero on a failure.
build=${1:-build}
status=0
for t in tests/e2e/t_*.sh; do
    [ -f "$t" ] || continue
    sh "$t" "$build" || status=1
done
exit $status
