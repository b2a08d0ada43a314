#!/bin/sh
# Migration workload: dirties guest memory at a steady rate for $2 seconds (default
# 600): $1 times a second (default 20) it rewrites a copy of busybox (about 1.7 MB)
# in tmpfs, so the guest writes about $1 x 1.7 MB/s of its RAM.
# Prints "dirty: start", then "dirty: <n>" every 100 rewrites and "dirty: ok".
set -eu
rate=${1:-20}
secs=${2:-600}
cp /bin/busybox /tmp/x
pause=$((1000000 / rate))
echo "dirty: start"
n=0
total=$((rate * secs))
while [ "$n" -lt "$total" ]; do
    dd if=/bin/busybox of=/tmp/x conv=notrunc 2>/dev/null
    n=$((n + 1))
    [ $((n % 100)) -eq 0 ] && echo "dirty: $n"
    usleep "$pause"
done
echo "dirty: ok"
