#!/bin/bash
# Packs the guest initramfs: busybox, /init, the udhcpc lease script and the test
# scripts of tests/, as a gzip-compressed cpio archive (what -initrd / initrd-start
# hands to the kernel).
#
# Usage: initramfs.sh CACHE_DIR   (needs CACHE_DIR/busybox from busybox.sh).
# Writes CACHE_DIR/initramfs.cpio.gz.
#
# The archive is described by a file list for the kernel's own gen_init_cpio, which
# needs no root rights for device nodes or file owners, and gives every entry the same
# timestamp, so the same inputs make the same archive.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$1
work=$cache/build/initramfs
src=$cache/src/linux-source-6.1

rm -rf "$work"
mkdir -p "$work/etc"
gen_src=$src/usr/gen_init_cpio.c
if [ ! -f "$gen_src" ]; then
    # The kernel tree was removed (the kernel itself is up to date): take just the file.
    tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$work" linux-source-6.1/usr/gen_init_cpio.c
    gen_src=$work/linux-source-6.1/usr/gen_init_cpio.c
fi
cc -O2 -o "$work/gen_init_cpio" "$gen_src"

# Files that exist only inside the guest.
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$work/etc/passwd"
printf 'root:x:0:\n' > "$work/etc/group"
printf 'tern\n' > "$work/etc/hostname"

{
    # The kernel opens /dev/console for PID 1 before /init runs (and mounts devtmpfs).
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    for d in /proc /sys /tmp /mnt /disk /root /etc /bin /sbin /usr /usr/bin /usr/sbin \
        /usr/share /usr/share/udhcpc /tests; do
        echo "dir $d 0755 0 0"
    done
    echo "file /init $here/init 0755 0 0"
    echo "file /bin/busybox $cache/busybox 0755 0 0"
    # One symlink per applet, at the path busybox itself would install it.
    grep -v '^/bin/busybox$' "$cache/busybox.links" | while read -r applet; do
        echo "slink $applet /bin/busybox 0777 0 0"
    done
    echo "file /usr/share/udhcpc/default.script $here/udhcpc.script 0755 0 0"
    for f in passwd group hostname; do
        echo "file /etc/$f $work/etc/$f 0644 0 0"
    done
    for t in "$here"/tests/*.sh; do
        echo "file /tests/$(basename "$t") $t 0755 0 0"
    done
} > "$work/list"

"$work/gen_init_cpio" -t 0 "$work/list" | gzip -9 -n > "$cache/initramfs.cpio.gz.tmp"
mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
echo "initramfs: $(grep -c . "$work/list") entries" >&2
