#!/bin/sh
# Writes a qcow2 header (made on the host by qemu-img, in this disk's files) over the
# start of each raw disk given: a header naming a host file as backing file (vdb) and
# one naming a host file as external data file (vdc). A host that probes the format
# at the next boot would open those files for this guest.
# Usage: disk-write.sh HEADER DEVICE [HEADER DEVICE ...]
set -eu
here=$(dirname "$0")
while [ $# -ge 2 ]; do
    dd if="$here/$1" of="$2" bs=4096 conv=fsync 2>/dev/null
    echo "disk-write: $1 -> $2"
    shift 2
done
sync
echo "disk-write: done"
