#!/bin/sh
# Opens N TCP connections and N UDP flows to ADDR:PORT (a host address outside the
# NAT) and holds them for SEC seconds, then, once they are closed, one more probe:
# the NAT must still work.
# Usage: net-flood.sh ADDR PORT N SEC
set -u
here=$(dirname "$0")
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null || echo "net-flood: no DHCP lease"
"$here/flows" flood "$1" "$2" "$3" "$4"
sleep 3
"$here/flows" probe "$1" "$2"
echo "net-flood: done"
