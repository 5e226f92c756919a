#!/bin/sh
# Re-records the captures shipped in captures/ from kdsim (deterministic
# scenarios, seed 1, 16 threads) through kdwatch's own recorder:
#   sh scripts/make_captures.sh [BUILD]
build=${1:-build}
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for sc in doublefault-recursion stress; do
    # the double fault at 150 ms per scenario tick: the stack is seen filling
    # up over a dozen samples before the crash (the demo shows it)
    tick=""
    [ $sc = doublefault-recursion ] && tick="--tick-ms 150"
    "$build/kdsim" --scenario $sc --threads 16 --seed 1 $tick --listen "unix:$dir/$sc.sock" \
        --exit-on-detach >"$dir/$sc.log" 2>&1 &
    i=0
    while [ ! -S "$dir/$sc.sock" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
    dur=""
    [ $sc = stress ] && dur="--duration 3"
    "$build/kdwatch" watch "unix:$dir/$sc.sock" --text --interval 250 $dur \
        --record "captures/kdsim-$sc.pcapng" >/dev/null
    wait
    echo "captures/kdsim-$sc.pcapng: $(wc -c <"captures/kdsim-$sc.pcapng") bytes"
done
