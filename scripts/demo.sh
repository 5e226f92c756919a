#!/bin/sh
# The README's main job on its built-in default: decode a real WinDbg<->Windows
# KDNET capture from ../shared (key 8.8.8.8), then print its summary.
build=${1:-build}
cap=../shared/captures/windbg-uncut.pcapng
if [ ! -f "$cap" ]; then
    echo "kdwatch demo: $cap not found (the shared folder must sit beside the repository)" >&2
    exit 1
fi
exec "$build"/kdwatch decode "$cap" --key 8.8.8.8
