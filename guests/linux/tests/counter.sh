#!/bin/sh
# Snapshot workload: $1 rounds (default 1000). Each round updates a running checksum
# kept only in memory and appends a line to /mnt/log.txt on the ext4 disk /dev/vda.
# Run uninterrupted or across snapshots and restores, the results must be the same.
# Prints:
#   counter: <i>              every 100 rounds
#   counter: sum <checksum>
#   counter: lines <lines in the file>
#   counter: sha256 <sha256 of the file>
#   counter: ok
set -eu
n=${1:-1000}
mount -t ext4 /dev/vda /mnt
: > /mnt/log.txt
sum=0
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    sum=$(( (sum * 31 + i * i) % 1000000007 ))
    echo "$i $sum" >> /mnt/log.txt
    if [ $((i % 100)) -eq 0 ]; then
        echo "counter: $i"
    fi
done
sync
echo "counter: sum $sum"
echo "counter: lines $(wc -l < /mnt/log.txt)"
echo "counter: sha256 $(sha256sum < /mnt/log.txt | cut -d' ' -f1)"
umount /mnt
echo "counter: ok"
