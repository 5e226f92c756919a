#!/bin/sh
# t_watch_replay.sh: kdwatch against kdsim over a Unix socket, as a user runs
# it: the double-fault scenario is watched and recorded, the crash report
# names the recursion, kdsim is left with no breakpoint and running; the
# recording replays to the same samples and crash report; a recording cut
# short still replays up to the cut.
build=${1:-build}
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }
dir=$(mktemp -d) || exit 1
trap 'kill $sim 2>/dev/null; rm -rf "$dir"' EXIT

# waits (bounded) until kdsim's socket exists
wait_sock() {
    i=0
    while [ ! -S "$1" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
    [ -S "$1" ]
}

"$build/kdsim" --scenario doublefault-recursion --threads 64 --seed 3 \
    --listen "unix:$dir/kd.sock" --truth "$dir/truth.json" --exit-on-detach >"$dir/sim.log" 2>&1 &
sim=$!
wait_sock "$dir/kd.sock" || { fail watch_df "kdsim did not listen"; exit 1; }
timeout 120 "$build/kdwatch" watch "unix:$dir/kd.sock" --text --interval 100 --duration 60 \
    --record "$dir/df.pcapng" >"$dir/live.txt" 2>"$dir/live.err"
rc=$?
wait $sim
[ $rc = 0 ] && ok watch_df_exit || fail watch_df_exit "exit $rc: $(tail -n 3 "$dir/live.err")"
grep -q "=== crash: 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)" "$dir/live.txt" &&
    ok watch_df_bugcheck || fail watch_df_bugcheck "no 0x7F/8 report"
grep -q "stack switch (IST stack -> thread stack)" "$dir/live.txt" && ok watch_df_switch ||
    fail watch_df_switch "no IST switch line"
grep -Eq "cycle of 11 frames .* repeated [0-9]+ times" "$dir/live.txt" && ok watch_df_cycle ||
    fail watch_df_cycle "no cycle found"
past=$(sed -n 's/.*"bytes_past_limit": \([0-9]*\).*/\1/p' "$dir/truth.json")
grep -q "($past) bytes past StackLimit" "$dir/live.txt" && ok watch_df_past_limit ||
    fail watch_df_past_limit "truth says $past bytes past the limit"
grep -q "0 breakpoints still in memory" "$dir/sim.log" && ok watch_df_no_breakpoint_left ||
    fail watch_df_no_breakpoint_left "$(tail -n 2 "$dir/sim.log")"

# the recording replays to the same output (clock and stall times aside)
norm() { sed -e 's/^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] //' -e 's/stall [0-9.]* ms (max [0-9.]* ms)//' "$1"; }
timeout 120 "$build/kdwatch" replay "$dir/df.pcapng" --text >"$dir/replay.txt" 2>"$dir/replay.err"
rc=$?
[ $rc = 0 ] && ok replay_df_exit || fail replay_df_exit "exit $rc: $(tail -n 3 "$dir/replay.err")"
norm "$dir/live.txt" >"$dir/a"
norm "$dir/replay.txt" >"$dir/b"
if cmp -s "$dir/a" "$dir/b"; then ok replay_equals_live; else
    fail replay_equals_live "$(diff "$dir/a" "$dir/b" | head -n 5)"
fi

# cut short: every line it prints is a line of the full replay, in order;
# cut inside the attach: a clear message and exit status 1
size=$(wc -c <"$dir/df.pcapng")
head -c 20000 "$dir/df.pcapng" >"$dir/cut.pcapng"
"$build/kdwatch" replay "$dir/cut.pcapng" --text >"$dir/cut.txt" 2>"$dir/cut.err"
rc=$?
if [ $rc = 1 ] && grep -q "ends before the monitor finished attaching" "$dir/cut.err"; then
    ok replay_cut_in_attach
else
    fail replay_cut_in_attach "exit $rc: $(tail -n 2 "$dir/cut.err")"
fi
for cut in $((size * 6 / 10)) $((size * 8 / 10)) $((size - 77)); do
    head -c "$cut" "$dir/df.pcapng" >"$dir/cut.pcapng"
    timeout 60 "$build/kdwatch" replay "$dir/cut.pcapng" --text >"$dir/cut.txt" 2>"$dir/cut.err"
    rc=$?
    if [ $rc -gt 1 ]; then
        fail "replay_cut_$cut" "exit $rc: $(tail -n 2 "$dir/cut.err")"
        continue
    fi
    norm "$dir/cut.txt" | grep -v -e '^detach' -e '^===' -e '^ ' -e '^$' >"$dir/c"
    grep -v -e '^detach' -e '^===' -e '^ ' -e '^$' "$dir/b" >"$dir/full"
    n=$(wc -l <"$dir/c")
    if [ "$n" -gt 0 ] && head -n "$n" "$dir/full" | cmp -s - "$dir/c"; then
        ok "replay_cut_$cut"
    else
        fail "replay_cut_$cut" "$n lines, not a prefix of the full replay"
    fi
done
exit $status
