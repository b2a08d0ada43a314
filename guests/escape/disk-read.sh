#!/bin/sh
# Reads the first 64 KiB of each device given and prints them with everything but
# letters, digits and '-' as '.', then writes a marker at the start of each: if the
# host opened a file named by a header this guest wrote, the host's secret shows in
# the output, and the marker lands in the host's file.
# Usage: disk-read.sh DEVICE...
for dev in "$@"; do
    echo "disk-read: $dev $(dd if="$dev" bs=4096 count=16 2>/dev/null | tr -c 'A-Za-z0-9-' '.')"
    printf 'GUEST-WAS-HERE' | dd of="$dev" conv=fsync 2>/dev/null
done
sync
echo "disk-read: done"
