#!/bin/sh
# t_dashboard_demo.sh: the dashboard in a real terminal. `kdwatch ui-demo`
# runs in a detached tmux session at 80x24 and at 120x40; keys go in with
# send-keys and the screen comes back with capture-pane. Every wait is a
# bounded poll on the screen (never a fixed sleep used as synchronisation).
# Only ASCII text is matched, so the check holds in a C locale too (where
# the dashboard draws its gauges with '#'). Also the headless outputs:
# --json, --text, --fail-below's exit status, --svg and --report.
build=${1:-build}
kdw=$build/kdwatch
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }

if ! command -v tmux >/dev/null 2>&1; then
    fail dashboard_tmux "tmux is not installed (apt-get install tmux)"
    exit 1
fi
[ -x "$kdw" ] || { fail dashboard_binary "$kdw not built"; exit 1; }
dir=$(mktemp -d) || exit 1
run=0
sock="kdw_e2e_$$_$run" # our own tmux servers: never touch the user's sessions
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null; rm -rf "$dir"' EXIT

# wait_for TEXT [SECONDS]: poll the pane until TEXT shows (fixed string).
wait_for() {
    limit=$(( ${2:-10} * 20 ))
    i=0
    while [ $i -lt "$limit" ]; do
        t capture-pane -p -t demo >"$dir/screen" 2>/dev/null
        grep -qF -- "$1" "$dir/screen" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
# check NAME TEXT...: all texts on the screen now (after waiting for the first).
check() {
    name=$1
    shift
    if ! wait_for "$1"; then
        fail "$name" "'$1' never showed; screen:
$(cat "$dir/screen")"
        return 1
    fi
    for want in "$@"; do
        if ! grep -qF -- "$want" "$dir/screen"; then
            fail "$name" "'$want' missing; screen:
$(cat "$dir/screen")"
            return 1
        fi
    done
    ok "$name"
}
start() { # start W H ARGS...
    w=$1 h=$2
    shift 2
    t kill-server 2>/dev/null
    run=$((run + 1))
    sock="kdw_e2e_$$_$run" # a fresh server: the old one may still be exiting
    t new-session -d -s demo -x "$w" -y "$h" \
        "$kdw ui-demo $*; echo \"EXIT=\$?\"; sleep 60" || fail dashboard_start "tmux new-session failed"
}

# ---- 80x24: the crash opens its view by itself -----------------------------
start 80 24 --interval 40 --samples 8
check dashboard_80_crash_view "0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)" \
    "240 (0xf0) bytes past StackLimit" "stack switch (IST stack -> thread stack)" \
    "StackLimit fffff880\`0b9c1000: the frames above are past it" "61%    14400" \
    "cycle of 11 frames" "02    140  nt!KiDoubleFaultAbort+0x28b"
t send-keys -t demo Escape
check dashboard_80_list "PROCESS           TID START" "diskstress.exe   5012 diskstress!Wri" \
    "sort headroom" "c crash" "crash     0x7F UNEXPECTED_KERNEL_MODE_TRAP"
t send-keys -t demo s
check dashboard_80_sort "sort min"
t send-keys -t demo s s s
check dashboard_80_sort_cycle "sort headroom"
t send-keys -t demo / r o s e m Enter
check dashboard_80_filter 'filter "rosem"' "diskstress.exe   5012"
t send-keys -t demo Enter
check dashboard_80_details "thread 5012 of diskstress.exe (pid 4120)" "SIZE  CALL SITE" \
    "storport!RaidStartIoPacket+0x3f1"
t send-keys -t demo Escape c
check dashboard_80_crash_again "0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)"
t send-keys -t demo q
check dashboard_80_quit "EXIT=0"

# ---- 120x40, live; then a resize to 80x24 -------------------------------------
start 120 40 --interval 100 --samples 100000
check dashboard_120_live "PROCESS            TID START                              STACK USED" \
    "diskstress!WriterThread" "REPLAY x1" "bp KiDoubleFaultAbort, KeBugCheckEx" " events "
t send-keys -t demo p
check dashboard_120_freeze "FROZEN" "p unfreeze"
t send-keys -t demo p +
check dashboard_120_speed "REPLAY x2"
t resize-window -t demo -x 80 -y 24
check dashboard_resize_to_80 "PROCESS           TID START           STACK USED" "diskstress!Wri"
t resize-window -t demo -x 120 -y 40
check dashboard_resize_to_120 "PROCESS            TID START                              STACK USED"
t send-keys -t demo q
check dashboard_120_quit "EXIT=0"

# ---- Ctrl-C: the handler only sets a flag; the loop ends and restores the terminal
start 80 24 --interval 100 --samples 100000
wait_for "PROCESS" || fail dashboard_sigint "no list"
t send-keys -t demo C-c
check dashboard_sigint "EXIT=0"

# ---- --frames N: a scripted run stops by itself ------------------------------
start 80 24 --frames 3 --interval 40
check dashboard_frames_stop "EXIT=0"
t kill-server 2>/dev/null

# ---- headless ---------------------------------------------------------------
"$kdw" ui-demo --json --samples 5 --threads 30 >"$dir/out.json" 2>"$dir/err"
n=$(wc -l <"$dir/out.json")
bad=$(grep -cv '^{"event":"[a-z]*",.*}$' "$dir/out.json")
if [ "$n" -ge 10 ] && [ "$bad" = 0 ] && tail -n 1 "$dir/out.json" | grep -q '^{"event":"report"'; then
    ok headless_json_lines
else
    fail headless_json_lines "$n lines, $bad not one object each: $(head -c 300 "$dir/out.json")"
fi
"$kdw" ui-demo --text --samples 5 --threads 30 >"$dir/out.txt" 2>"$dir/err"
if grep -q '^00:00:05 sample 5: 30 threads' "$dir/out.txt" &&
    grep -qF -- '--- stack switch (IST stack -> thread stack) ---' "$dir/out.txt" &&
    grep -q '^=== crash: 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)' "$dir/out.txt"; then
    ok headless_text
else
    fail headless_text "$(head -n 5 "$dir/out.txt")"
fi
"$kdw" ui-demo --text --fail-below 10% >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && ok fail_below_fails || fail fail_below_fails "exit $rc, expected 3 (min 7% < 10%)"
"$kdw" ui-demo --text --fail-below 1000 >/dev/null 2>&1
rc=$?
[ $rc = 0 ] && ok fail_below_passes || fail fail_below_passes "exit $rc, expected 0 (min 1952 bytes)"
"$kdw" ui-demo --text --fail-below 12x >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok fail_below_usage || fail fail_below_usage "exit $rc, expected 2"
"$kdw" ui-demo --text --svg "$dir/c.svg" --report "$dir/r.json" >/dev/null 2>&1
if grep -q 'class="limit"' "$dir/c.svg" && grep -q 'class="switch"' "$dir/c.svg" &&
    head -c 18 "$dir/r.json" | grep -q '{"event":"report"'; then
    ok svg_and_report_written
else
    fail svg_and_report_written "missing limit/switch in the SVG or a bad report"
fi
if command -v xmllint >/dev/null 2>&1; then # optional: the unit test has its own checker
    xmllint --noout "$dir/c.svg" 2>"$dir/err" && ok svg_xmllint || fail svg_xmllint "$(head -n 3 "$dir/err")"
fi
exit $status
