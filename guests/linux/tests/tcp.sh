#!/bin/sh
# Two-VM test of one TCP connection (tern's socket network backend between them, no
# router): `tcp.sh server MY-IP` listens on port 5000 and reports what came;
# `tcp.sh client MY-IP PEER-IP LINES` sends LINES numbered lines ("line 1"...), one
# every 20 ms, over one connection. Moving either VM while the lines flow must lose
# none and break nothing.
# Prints:
#   tcp: ip <address>
#   tcp: listening                        (server, once nc listens)
#   tcp: sent <i>                         (client, every 50 lines)
#   tcp: received <lines> <sha256>        (server, when the client closed)
#   tcp: ok
set -eu
role=${1:?usage: tcp.sh server MY-IP | tcp.sh client MY-IP PEER-IP LINES}
me=${2:?usage: tcp.sh server MY-IP | tcp.sh client MY-IP PEER-IP LINES}
ip addr add "$me/24" dev eth0
ip link set eth0 up
echo "tcp: ip $me"
case "$role" in
server)
    nc -l -p 5000 > /tmp/got &
    listener=$!
    # nc binds at once; give it a moment before saying so.
    sleep 1
    echo "tcp: listening"
    wait "$listener"
    echo "tcp: received $(wc -l < /tmp/got) $(sha256sum < /tmp/got | cut -d' ' -f1)"
    ;;
client)
    peer=${3:?peer address}
    n=${4:?number of lines}
    i=0
    while [ "$i" -lt "$n" ]; do
        i=$((i + 1))
        echo "line $i"
        if [ $((i % 50)) -eq 0 ]; then
            echo "tcp: sent $i" > /dev/console
        fi
        usleep 20000
    done | nc "$peer" 5000
    ;;
*)
    echo "tcp: unknown role $role"
    exit 1
    ;;
esac
echo "tcp: ok"
