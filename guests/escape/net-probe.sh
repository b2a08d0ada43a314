#!/bin/sh
# Brings eth0 up by DHCP, then tries to reach the host's loopback services: TCP and
# UDP to 10.0.2.2:PORT (QEMU's "host" address, which libslirp can map to the host's
# 127.0.0.1), and hand-made frames to 127.0.0.1:PORT and 0.0.0.0:PORT.
# Usage: net-probe.sh PORT
set -u
port=$1
here=$(dirname "$0")
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null || echo "net-probe: no DHCP lease"
"$here/flows" probe 10.0.2.2 "$port"
"$here/flows" raw "$port"
echo "net-probe: done"
