#!/bin/sh
# t_recording_tshark.sh: the recordings kdwatch writes open in tshark. The
# stream recording (link type 147) is dissected by tools/wireshark's Lua
# script; the KDNET recording is UDP over raw IP with good IP/UDP checksums
# and the EPB direction flags; the key is nowhere in either file; kdwatch's
# own decoder verifies every datagram of the KDNET recording with the key.
build=${1:-build}
lua=tools/wireshark/kdwatch_stream.lua
key=k3yw4tch.s3cr3t.9z.x1 # the key tests/unit/test_recorder.c uses
status=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; status=1; }

if ! command -v tshark >/dev/null 2>&1; then
    fail recording_tshark "tshark is not installed (apt-get install tshark)"
    exit 1
fi
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
if "$build/tests/test_recorder" --write-samples "$dir" >"$dir/log" 2>&1; then
    ok recording_samples_written
else
    fail recording_samples_written "$(tail -n 5 "$dir/log")"
    exit 1
fi
ts() { tshark "$@" 2>"$dir/err" | tr -d '\r'; }

# stream recording: plain tshark reads it, and the direction flags are set
n=$(ts -r "$dir/stream.pcapng" | wc -l)
[ "$n" = 3 ] && ok recording_stream_opens || fail recording_stream_opens "$n frames: $(cat "$dir/err")"
dirs=$(ts -r "$dir/stream.pcapng" -T fields -e frame.p2p_dir | tr '\n' ' ')
[ "$dirs" = "0 1 0 " ] && ok recording_stream_directions \
    || fail recording_stream_directions "p2p_dir '$dirs', expected '0 1 0 ' (0 sent = host to target)"

# ... and the Lua dissector shows the KD fields
ts -X lua_script:$lua -r "$dir/stream.pcapng" -V >"$dir/v.txt"
missing=
for want in "Direction: host -> target (0)" "Direction: target -> host (1)" \
    "Break-in: 62" "Leader: data (0000) (0x30303030)" "Leader: control (iiii) (0x69696969)" \
    "Type: STATE_CHANGE64 (7)" "NewState: Exception (0x00003030)" \
    "Type: STATE_MANIPULATE (2)" "ApiNumber: ReadVirtualMemory (0x00003130)" \
    "Type: ACKNOWLEDGE (4)" "PacketId: 0x80800800" "ByteCount: 56" "Checksum good: True" \
    "Trailer: 0xaa"; do
    grep -qF -- "$want" "$dir/v.txt" || missing="$missing [$want]"
done
if grep -qi 'lua.*error\|attempt to' "$dir/err" "$dir/v.txt"; then
    fail recording_lua_dissector "Lua error: $(grep -i 'error' "$dir/err" | head -n 2)"
elif [ -n "$missing" ]; then
    fail recording_lua_dissector "missing in tshark -V:$missing"
else
    ok recording_lua_dissector
fi
n=$(ts -X lua_script:$lua -r "$dir/stream.pcapng" -Y 'kdstream.api == 0x3130' | wc -l)
[ "$n" = 1 ] && ok recording_lua_filter || fail recording_lua_filter "kdstream.api filter matched $n frames"

# KDNET recording: UDP with good checksums, real endpoints, directions
f=$(ts -r "$dir/kdnet.pcapng" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -T fields \
    -E separator=, -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e ip.checksum.status \
    -e udp.checksum.status -e frame.p2p_dir -e data.len)
n=$(echo "$f" | grep -c .)
bad=$(echo "$f" | awk -F, '$5 != 1 || $6 != 1' | wc -l)
[ "$n" = 5 ] && [ "$bad" = 0 ] && ok recording_kdnet_udp \
    || fail recording_kdnet_udp "$n frames, $bad with bad checksums: $f $(cat "$dir/err")"
t=$(echo "$f" | head -n 1 | cut -d, -f2)
h=$(echo "$f" | head -n 1 | cut -d, -f4)
pattern=$(echo "$f" | awk -F, -v t="$t" -v h="$h" '{ printf "%s", ($2 == t && $4 == h && $7 == 1) ? "T" : ($2 == h && $4 == t && $7 == 0) ? "H" : "?" }')
[ "$pattern" = THTHT ] && [ "$t" != "$h" ] && ok recording_kdnet_endpoints \
    || fail recording_kdnet_endpoints "direction pattern '$pattern' (target port $t, host port $h)"
magic=$(ts -r "$dir/kdnet.pcapng" -T fields -e data.data | cut -c1-8 | sort -u)
[ "$magic" = 4d444247 ] && ok recording_kdnet_mdbg || fail recording_kdnet_mdbg "payloads start with '$magic'"

# the key never reaches a recording
if grep -qaF "$key" "$dir/stream.pcapng" "$dir/kdnet.pcapng" || grep -qaF s3cr3t "$dir/kdnet.pcapng" \
    || ts -r "$dir/kdnet.pcapng" -x -V | grep -qF s3cr3t; then
    fail recording_no_key "the key text is in a recording"
else
    ok recording_no_key
fi

# kdwatch decode opens the recording and every datagram verifies with the key
if [ -x "$build/kdwatch" ]; then
    out=$("$build/kdwatch" decode "$dir/kdnet.pcapng" --key "$key" --summary 2>&1)
    echo "$out" | grep -q 'HMAC-verified 5 of 5' && ok recording_kdnet_decodes \
        || fail recording_kdnet_decodes "$(echo "$out" | tail -n 5)"
else
    fail recording_kdnet_decodes "$build/kdwatch not built"
fi
exit $status
