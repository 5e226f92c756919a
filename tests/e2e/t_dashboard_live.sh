#!/bin/sh
# t_dashboard_live.sh: the dashboard as a user sees it, in tmux, against
# kdsim live (rows sorted by headroom, filter, details, q detaches cleanly)
# and replaying the shipped double-fault capture (the crash view) at 80x24
# and 120x40. Every wait is a bounded poll on the screen.
build=${1:-build}
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }
command -v tmux >/dev/null 2>&1 || { fail dashboard_live_tmux "tmux missing"; exit 1; }
dir=$(mktemp -d) || exit 1
sock="kdw_live_$$"
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null; kill $sim 2>/dev/null; rm -rf "$dir"' EXIT

wait_for() { # TEXT [SECONDS]
    i=0
    while [ $i -lt $(( ${2:-15} * 20 )) ]; do
        t capture-pane -p -t main >"$dir/screen" 2>/dev/null
        grep -qF -- "$1" "$dir/screen" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
check() { # NAME TEXT...
    name=$1
    shift
    if ! wait_for "$1"; then
        fail "$name" "'$1' never showed: $(head -c 3000 "$dir/screen")"
        return 1
    fi
    for want in "$@"; do
        grep -qF -- "$want" "$dir/screen" ||
            { fail "$name" "'$want' missing: $(head -c 3000 "$dir/screen")"; return 1; }
    done
    ok "$name"
}

# --- live against kdsim (stress), 100x30 ---
"$build/kdsim" --scenario stress --threads 48 --seed 2 --listen "unix:$dir/kd.sock" \
    --exit-on-detach >"$dir/sim.log" 2>&1 &
sim=$!
i=0
while [ ! -S "$dir/kd.sock" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
t new-session -d -s main -x 100 -y 30 \
    "TERM=xterm-256color $build/kdwatch watch unix:$dir/kd.sock --interval 200; echo EXIT=\$? > $dir/exit; sleep 60"
check live_header "Windows build 19041 x64, 2 CPUs" "LIVE" "bp KiDoubleFaultAbort, KeBugCheckEx"
check live_rows "PROCESS" "LEFT" "System"
# the first row is the thread with the least headroom: LEFT ascends down the list
awk '/^ *PROCESS/ {on = 1; next} /events/ {on = 0} on && NF > 5 {
        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+%$/) { print $(i - 1); break } }' "$dir/screen" >"$dir/left"
if [ -s "$dir/left" ] && sort -n -c "$dir/left" 2>/dev/null; then ok live_sorted_by_headroom; else
    fail live_sorted_by_headroom "LEFT column not ascending: $(tr '\n' ' ' <"$dir/left")"; fi
# filter by module: only the storage driver's worker threads remain
t send-keys -t main / && t send-keys -t main -l "ql2300" && t send-keys -t main Enter
# the filter is applied once its label shows and the other drivers' rows are gone
i=0
while [ $i -lt 300 ]; do
    t capture-pane -p -t main >"$dir/screen"
    grep -q 'filter "ql2300"' "$dir/screen" && ! grep -q "MyDrv+0x" "$dir/screen" && break
    i=$((i + 1)); sleep 0.05
done
if grep -q 'filter "ql2300"' "$dir/screen" && ! grep -q "MyDrv+0x" "$dir/screen"; then
    ok live_filter_hides
else
    fail live_filter_hides "filter not applied: $(head -c 3000 "$dir/screen")"
fi
grep -q "ql2300+0x" "$dir/screen" && ok live_filter_keeps || fail live_filter_keeps "no ql2300 row left"
t send-keys -t main Escape
i=0
while [ $i -lt 300 ]; do
    t capture-pane -p -t main >"$dir/screen"
    grep -q 'filter "ql2300"' "$dir/screen" || break
    i=$((i + 1)); sleep 0.05
done
grep -q 'filter "ql2300"' "$dir/screen" && fail live_filter_cleared "filter still on" || ok live_filter_cleared
t send-keys -t main Enter
check live_details "KTHREAD" "limit" "base" "CALL SITE"
t send-keys -t main Escape
t send-keys -t main q
i=0
while [ ! -s "$dir/exit" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
grep -q "EXIT=0" "$dir/exit" 2>/dev/null && ok live_quit_exit0 || fail live_quit_exit0 "$(cat "$dir/exit" 2>/dev/null)"
wait $sim
grep -q "0 breakpoints still in memory" "$dir/sim.log" && ok live_quit_clean_detach ||
    fail live_quit_clean_detach "$(tail -n 2 "$dir/sim.log")"
t kill-server 2>/dev/null

# --- the shipped double fault, replayed, at 80x24 and 120x40 ---
for size in 80x24 120x40; do
    w=${size%x*} h=${size#*x}
    sock="kdw_live_$$_$w" # a fresh tmux server per size: no race with the last one's exit
    rm -f "$dir/exit"
    t new-session -d -s main -x "$w" -y "$h" \
        "TERM=xterm-256color $build/kdwatch replay captures/kdsim-doublefault-recursion.pcapng --speed 2; echo EXIT=\$? > $dir/exit; sleep 60"
    check "replay_crash_view_$size" "0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)" \
        "1488 (0x5d0) bytes past StackLimit" "rosempio" "stack switch (IST stack -> thread stack)"
    t send-keys -t main Escape
    check "replay_list_after_crash_$size" "PROCESS" "System"
    t send-keys -t main c
    check "replay_crash_view_back_$size" "UNEXPECTED_KERNEL_MODE_TRAP"
    t send-keys -t main q
    i=0
    while [ ! -s "$dir/exit" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
    grep -q "EXIT=0" "$dir/exit" 2>/dev/null && ok "replay_quit_$size" || fail "replay_quit_$size" "no clean exit"
    t kill-server 2>/dev/null
done
exit $status
