#!/bin/sh
# Snapshot workload for networking: takes a DHCP lease, says so, waits $2 seconds (a
# snapshot and restore happen meanwhile), then fetches http://10.0.2.2:$1/net-test.bin.
# Prints "netlater: leased", then "netlater: fetched <bytes> bytes sha256 <hex>" and
# "netlater: ok".
set -eu
port=${1:?usage: net-later.sh PORT SECONDS}
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null
echo "netlater: leased"
sleep "${2:-3}"
wget -q -O /tmp/net-test.bin "http://10.0.2.2:$port/net-test.bin"
echo "netlater: fetched $(wc -c < /tmp/net-test.bin) bytes sha256 $(sha256sum < /tmp/net-test.bin | cut -d' ' -f1)"
echo "netlater: ok"
