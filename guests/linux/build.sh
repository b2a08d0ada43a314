#!/bin/bash
# Builds the guest images for the `virt` board from Debian's packages:
#   Image              Linux 6.1 (linux-source-6.1, kernel.config)      kernel.sh
#   busybox            static busybox (apt-get source busybox)           busybox.sh
#   initramfs.cpio.gz  busybox + init + tests/                           initramfs.sh
#   disk.ext4          64 MiB ext4 of known content                      mkdisk.sh
# into ${TERN_CACHE:-$HOME/.cache/tern}/guest, and prints that directory on stdout
# (all progress goes to stderr).
#
# Each product is rebuilt only when it is missing or when what it is made from changed
# (its script, its config, the Debian package versions): a hash of those inputs is
# kept beside it as .NAME.inputs. --force rebuilds everything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${TERN_CACHE:-$HOME/.cache/tern}/guest
force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) echo "usage: build.sh [--force]" >&2; exit 2 ;;
esac

"$here/packages.sh"
mkdir -p "$cache"
# One build at a time per cache (tests and people may start it concurrently).
exec 9> "$cache/.lock"
flock 9

# Installed version of a Debian package, as part of a product's inputs.
pkg() { dpkg-query -W -f='${Package} ${Version}\n' "$1"; }

# inputs FILE...: a hash of the named files' contents and of the lines on stdin. Files
# are named relative to this directory, so that checkouts in other places (worktrees,
# CI) share one cache instead of rebuilding it for each other.
inputs() {
    { cat; for f in "$@"; do echo "== ${f#"$here"/}"; cat "$f"; done; } | sha256sum | cut -d' ' -f1
}

# step NAME PRODUCT HASH SCRIPT: runs SCRIPT CACHE unless PRODUCT exists and was
# built from inputs with the same HASH.
step() {
    local name=$1 product=$cache/$2 hash=$3 script=$4 stamp=$cache/.$2.inputs
    if [ "$force" = 0 ] && [ -f "$product" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
        echo "$name: up to date" >&2
        return
    fi
    local start
    start=$(date +%s)
    rm -f "$stamp"
    "$here/$script" "$cache" >&2
    echo "$hash" > "$stamp"
    echo "$name: done in $(( $(date +%s) - start )) s" >&2
}

total=$(date +%s)
cross="$(pkg gcc-riscv64-linux-gnu)
$(pkg libc6-dev-riscv64-cross)"

step kernel Image "$( { pkg linux-source-6.1; echo "$cross"; } |
    inputs "$here/kernel.sh" "$here/lib.sh" "$here/kernel.config")" kernel.sh

step busybox busybox "$( { apt-cache showsrc busybox | grep '^Version:' | sort -V | tail -n1
    echo "$cross"; } | inputs "$here/busybox.sh" "$here/lib.sh" "$here/busybox.config")" busybox.sh

step initramfs initramfs.cpio.gz "$( pkg linux-source-6.1 | inputs "$here/initramfs.sh" \
    "$cache/busybox" "$cache/busybox.links" "$here/init" "$here/udhcpc.script" \
    "$here"/tests/*.sh)" initramfs.sh

step disk disk.ext4 "$(pkg e2fsprogs | inputs "$here/mkdisk.sh")" mkdisk.sh

echo "guest: all products ready in $(( $(date +%s) - total )) s:" >&2
for f in Image initramfs.cpio.gz disk.ext4; do
    echo "  $f $(du -k --apparent-size "$cache/$f" | cut -f1) KiB" >&2
done
echo "$cache"
