#!/bin/sh
# t_shipped_captures.sh: the captures shipped in captures/ replay to the crash
# and samples they recorded (the README's demo runs the first one).
build=${1:-build}
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$build/kdwatch" replay captures/kdsim-doublefault-recursion.pcapng --text >"$out" 2>&1
rc=$?
[ $rc = 0 ] && ok shipped_df_replays || fail shipped_df_replays "exit $rc"
grep -q "arguments: 0x8, 0x80050033, 0x350ef8, 0xfffff8054e501040" "$out" &&
    ok shipped_df_bugcheck || fail shipped_df_bugcheck "bugcheck line missing"
grep -q "0x5d0 (1488) bytes past StackLimit" "$out" && ok shipped_df_past_limit ||
    fail shipped_df_past_limit "past-limit line missing"
grep -Eq "cycle of 11 frames \(rosempio \(6 frames\) -> nt\+0x171a -> CLASSPNP \(3 frames\)" "$out" &&
    ok shipped_df_cycle || fail shipped_df_cycle "cycle line missing"
grep -q "detach: detached (crash captured): breakpoints removed, target running" "$out" &&
    ok shipped_df_detach || fail shipped_df_detach "detach line missing"

"$build/kdwatch" replay captures/kdsim-stress.pcapng --json >"$out" 2>&1
rc=$?
[ $rc = 0 ] && ok shipped_stress_replays || fail shipped_stress_replays "exit $rc"
n=$(grep -c '^{"event":"sample"' "$out")
[ "$n" -ge 10 ] && ok shipped_stress_samples || fail shipped_stress_samples "$n sample lines"
bad=$(grep -vc '^{.*}$' "$out")
[ "$bad" = 0 ] && ok shipped_stress_json_lines || fail shipped_stress_json_lines "$bad lines not JSON objects"
exit $status
