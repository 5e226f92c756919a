#!/bin/sh
# The README's main job on its built-in default: replay the shipped recording
# of a double fault (kdsim's doublefault-recursion scenario) through the same
# monitor and views as a live session. On a terminal this is the dashboard
# (q quits): the faulting thread's gauge fills up over three seconds, then
# the crash view opens; otherwise plain text.
build=${1:-build}
exec "$build"/kdwatch replay captures/kdsim-doublefault-recursion.pcapng --speed 1
