#!/bin/sh
# Two-VM test: gives eth0 the address $1/24 and pings the peer $2 (the other VM on the
# same virtual switch: tern's socket network backend). No DHCP: there is no router.
# Prints:
#   pair: ip <address>
#   pair: ping <peer> ok | pair: ping <peer> FAILED
#   pair: ok
set -eu
me=${1:?usage: pair.sh MY-IP PEER-IP}
peer=${2:?usage: pair.sh MY-IP PEER-IP}
ip addr add "$me/24" dev eth0
ip link set eth0 up
echo "pair: ip $me"
# The peer may still be booting: keep trying for a while.
i=0
while [ "$i" -lt 30 ]; do
    if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then
        # Both directions must work: keep answering while the peer pings us.
        ping -c 3 -W 2 "$peer" >/dev/null 2>&1 || true
        echo "pair: ping $peer ok"
        sleep 3
        echo "pair: ok"
        exit 0
    fi
    i=$((i + 1))
done
echo "pair: ping $peer FAILED"
exit 1
