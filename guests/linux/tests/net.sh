#!/bin/sh
# Network test: configures eth0 by DHCP (QEMU's or tern's user-mode NAT answers as
# 10.0.2.2 and leases 10.0.2.15), then fetches http://10.0.2.2:PORT/net-test.bin,
# served by the host test; PORT is the first argument (tern.arg=PORT).
# Prints:
#   net: ip <address of eth0>
#   net: fetched <bytes> bytes sha256 <hex>
#   net: ok
set -eu
port=${1:?usage: net.sh PORT}
ip link set eth0 up
# -n: give up (exit 1) if no lease, -q: exit once the lease is applied.
udhcpc -i eth0 -n -q -t 5 -T 2 >/dev/null
echo "net: ip $(ip -4 addr show dev eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p')"
wget -q -O /tmp/net-test.bin "http://10.0.2.2:$port/net-test.bin"
echo "net: fetched $(wc -c < /tmp/net-test.bin) bytes sha256 $(sha256sum < /tmp/net-test.bin | cut -d' ' -f1)"
echo "net: ok"
