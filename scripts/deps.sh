#!/bin/sh
# Installs the Debian packages kdwatch builds and tests with (when run as root),
# or prints the exact apt-get line to run (otherwise). Exits non-zero when
# something is missing and could not be installed.
PKGS="make gcc clang clang-format pkg-config libserialport-dev libusb-1.0-0-dev libncurses-dev libssl-dev libpcap-dev libwiretap-dev libwsutil-dev libglib2.0-dev tmux tshark socat gcc-mingw-w64-x86-64"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "kdwatch: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null || {
        echo "kdwatch: apt-get install failed" >&2; exit 1; }
else
    echo "kdwatch: missing Debian packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
