#!/bin/sh
# bench_sample.sh: stall per sample and threads per second, kdwatch against
# kdsim, for 100 and 1000 threads, over a pty paced at 115200 baud (kdsim
# paces what it sends, like a UART) and over KDNET on loopback; beside the
# time the bytes need on the wire. Prints one line per configuration.
build=${1:-build}
dir=$(mktemp -d)
trap 'kill $sim 2>/dev/null; rm -rf "$dir"' EXIT
key=1.2.3.4
port=50300
run() { # $1 label, $2 threads, $3 listen URI for kdsim, $4 kdwatch URI, $5 duration
    "$build/kdsim" --scenario idle --threads "$2" --listen "$3" $6 --exit-on-detach >"$dir/sim.out" 2>&1 &
    sim=$!
    i=0
    while [ $i -lt 100 ] && ! grep -q "listening" "$dir/sim.out"; do i=$((i + 1)); sleep 0.05; done
    uri=$4
    [ "$uri" = pty ] && uri="serial:$(head -n 1 "$dir/sim.out")?baud=115200"
    timeout 300 "$build/kdwatch" watch "$uri" --json --interval 200 --max-stall 60000 \
        --duration "$5" >"$dir/w.json" 2>"$dir/w.err"
    kill $sim 2>/dev/null; wait $sim 2>/dev/null # (over KDNET kdsim may not see the detach)
    grep '^{"event":"sample"' "$dir/w.json" | tail -n +2 |
        sed 's/.*"stall_ms":\([0-9.]*\),.*"sampled":\([0-9]*\),.*/\1 \2/' |
        awk -v label="$1" -v n="$2" '{s += $1; t += $2; c++}
            END { if (c == 0) { printf "%-28s no samples\n", label; exit }
                  printf "%-28s %4d threads: %8.1f ms stall per full sample, %7.0f threads/s (%d samples)\n",
                         label, n, s / c, t / (s / 1000), c }'
}
echo "wire floor at 115200 baud: (178 + 56) / 11520 s = 20.3 ms per 56-byte read both ways;"
echo "  145 bytes target->host (ACK + reply) = 12.6 ms, the part kdsim's pacing models"
run "serial pty 115200 baud" 100 pty pty 8 "--baud 115200"
run "serial pty 115200 baud" 1000 pty pty 70 "--baud 115200"
run "KDNET loopback" 100 "kdnet:host=127.0.0.1,port=$port,key=$key,tport=$((port + 1))" \
    "kdnet:port=$port,key=$key" 4
run "KDNET loopback" 1000 "kdnet:host=127.0.0.1,port=$port,key=$key,tport=$((port + 1))" \
    "kdnet:port=$port,key=$key" 12
