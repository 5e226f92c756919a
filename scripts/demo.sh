#!/bin/sh
# The README's main job on its built-in default: replay the shipped recording
# of a double fault (kdsim's doublefault-recursion scenario) through the same
# monitor and views as a live session. On a terminal this is the dashboard
# (q quits), at a quarter of the recorded speed so the gauges can be seen
# filling up before the crash; otherwise plain text.
build=${1:-build}
exec "$build"/kdwatch replay captures/kdsim-doublefault-recursion.pcapng --speed 0.25
