#!/bin/bash
# Makes the guest's ext4 disk image (64 MiB, /dev/vda in the guest) from a directory
# of known content, with mkfs.ext4 -d (no loop mount, no root rights).
#
# Usage: mkdisk.sh CACHE_DIR    Writes CACHE_DIR/disk.ext4.
#
# Content (the host tests recompute the same bytes, see crates/xtask/src/lib.rs):
#   hello.txt               one line: "hello from the tern disk"
#   data/pattern-1m.txt     1 MiB: 32768 lines, line i is i zero-padded to 31 digits,
#                           so every 32-byte record is unique (a misplaced block shows)
#   data/small/NNN.txt      100 small files, file n holds "file n"
#   data/link               symlink to ../hello.txt
set -euo pipefail
cache=$1
root=$cache/build/disk

rm -rf "$root"
mkdir -p "$root/data/small"
echo "hello from the tern disk" > "$root/hello.txt"
seq -f '%031.0f' 0 32767 > "$root/data/pattern-1m.txt"
for n in $(seq 0 99); do
    echo "file $n" > "$root/data/small/$(printf '%03d' "$n").txt"
done
ln -s ../hello.txt "$root/data/link"

# A fixed UUID and hash seed: the same content gives the same file system layout.
rm -f "$cache/disk.ext4.tmp"
mkfs.ext4 -q -F -L tern -U 7465726e-6469-736b-0000-000000000001 \
    -E root_owner=0:0,hash_seed=7465726e-6469-736b-0000-000000000002 \
    -d "$root" "$cache/disk.ext4.tmp" 64M >&2
mv "$cache/disk.ext4.tmp" "$cache/disk.ext4"
