#!/bin/sh
# t_transports_kdsim.sh: kdwatch watch against kdsim over each wire a VM
# offers (TCP, a pty opened as a serial port, KDNET on loopback, a Unix
# socket with lost and corrupted packets), and a Ctrl-C in the middle of a
# session: samples arrive, the exit is clean, no breakpoint of ours is left.
build=${1:-build}
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }
dir=$(mktemp -d) || exit 1
sim=
trap '[ -n "$sim" ] && kill $sim 2>/dev/null; rm -rf "$dir"' EXIT

start_sim() { # LISTEN [kdsim options...]; waits until kdsim listens
    listen=$1
    shift
    "$build/kdsim" --scenario stress --threads 32 --seed 4 --listen "$listen" "$@" \
        --exit-on-detach >"$dir/sim.log" 2>&1 &
    sim=$!
    i=0
    while [ $i -lt 200 ] && ! grep -q listening "$dir/sim.log"; do i=$((i + 1)); sleep 0.05; done
}
watch() { # NAME URI: a short session, checked
    timeout 60 "$build/kdwatch" watch "$2" --text --duration 2 --interval 200 >"$dir/w.txt" 2>"$dir/w.err"
    rc=$?
    n=$(grep -c ' sample [0-9]*:' "$dir/w.txt")
    if [ $rc = 0 ] && [ "$n" -ge 3 ] && grep -q "detached (duration reached)" "$dir/w.txt"; then
        ok "$1"
    else
        fail "$1" "exit $rc, $n samples: $(tail -n 2 "$dir/w.err")"
    fi
}
clean() { # NAME: kdsim exited with none of our breakpoints in memory
    i=0
    while kill -0 $sim 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
    grep -q "0 breakpoints still in memory" "$dir/sim.log" && ok "$1" ||
        fail "$1" "$(tail -n 2 "$dir/sim.log")"
}

port=$((40000 + $$ % 10000))
start_sim "tcp:$port"
watch tcp_session "tcp:127.0.0.1:$port"
clean tcp_clean_detach

start_sim pty
pty=$(head -n 1 "$dir/sim.log")
watch pty_serial_session "serial:$pty?baud=115200"
clean pty_clean_detach

kport=$((50000 + $$ % 5000))
start_sim "kdnet:host=127.0.0.1,port=$kport,key=1.2.3.4,tport=$((kport + 1))"
watch kdnet_session "kdnet:port=$kport,key=1.2.3.4"
kill $sim 2>/dev/null # over UDP kdsim sees no disconnect
wait $sim 2>/dev/null

start_sim "unix:$dir/f.sock" --drop 0.05 --corrupt 0.05 --dup 0.05 --seed 9
watch faulty_link_session "unix:$dir/f.sock"
clean faulty_link_clean_detach

# Ctrl-C once samples flow: a clean detach and exit status 0
start_sim "unix:$dir/i.sock"
"$build/kdwatch" watch "unix:$dir/i.sock" --text --interval 200 >"$dir/i.txt" 2>&1 &
kw=$!
i=0
while [ $i -lt 300 ] && ! grep -q ' sample 3:' "$dir/i.txt"; do i=$((i + 1)); sleep 0.05; done
kill -INT $kw
wait $kw
rc=$?
[ $rc = 0 ] && grep -q "detached (interrupted)" "$dir/i.txt" && ok sigint_exit_clean ||
    fail sigint_exit_clean "exit $rc: $(tail -n 2 "$dir/i.txt")"
clean sigint_clean_detach
# waits (bounded) until something listens on TCP port $1 (from /proc/net/tcp)
wait_listen() {
    hex=$(printf '%04X' "$1")
    i=0
    while [ $i -lt 200 ]; do
        grep -qi ":$hex 00000000:0000 0A" /proc/net/tcp 2>/dev/null && return 0
        i=$((i + 1))
        sleep 0.05
    done
    return 1
}

# a dropped link (the TCP relay in between dies and comes back): kdwatch
# reconnects, goes on, and still detaches cleanly
if command -v socat >/dev/null 2>&1; then
    "$build/kdsim" --scenario stress --threads 32 --seed 4 --listen "unix:$dir/d.sock" >"$dir/sim.log" 2>&1 &
    sim=$!
    i=0
    while [ $i -lt 200 ] && ! grep -q listening "$dir/sim.log"; do i=$((i + 1)); sleep 0.05; done
    rport=$((port + 1))
    socat "TCP-LISTEN:$rport,reuseaddr,nodelay" "UNIX-CONNECT:$dir/d.sock" &
    relay=$!
    wait_listen $rport
    "$build/kdwatch" watch "tcp:127.0.0.1:$rport" --text --interval 200 --duration 5 >"$dir/d.txt" 2>&1 &
    kw=$!
    i=0
    while [ $i -lt 300 ] && ! grep -q ' sample 3:' "$dir/d.txt"; do i=$((i + 1)); sleep 0.05; done
    kill $relay
    wait $relay 2>/dev/null
    socat "TCP-LISTEN:$rport,reuseaddr,nodelay" "UNIX-CONNECT:$dir/d.sock" &
    relay=$!
    wait_listen $rport
    wait $kw
    rc=$?
    kill $relay 2>/dev/null
    if [ $rc = 0 ] && grep -q "link back" "$dir/d.txt" && grep -q "detached (duration reached)" "$dir/d.txt"; then
        ok dropped_link_reconnects
    else
        fail dropped_link_reconnects "exit $rc: $(tail -n 3 "$dir/d.txt")"
    fi
    kill -TERM $sim
    wait $sim 2>/dev/null
    grep -q "0 breakpoints still in memory" "$dir/sim.log" && ok dropped_link_clean_detach ||
        fail dropped_link_clean_detach "$(tail -n 2 "$dir/sim.log")"
else
    fail dropped_link_reconnects "socat is not installed (apt-get install socat)"
fi
exit $status
