#!/bin/bash
# Builds the guest kernel: Linux 6.1 from Debian's linux-source-6.1 tarball, for
# riscv64, configured by kernel.config on top of allnoconfig.
#
# Usage: kernel.sh CACHE_DIR
# Writes CACHE_DIR/Image and CACHE_DIR/kernel.release; the source tree and the object
# tree stay under CACHE_DIR/src and CACHE_DIR/build/linux, so that a rebuild after a
# config change only recompiles what the change touches.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cache=$1
log=$cache/logs/kernel.log
tarball=/usr/src/linux-source-6.1.tar.xz
src=$cache/src/linux-source-6.1
obj=$cache/build/linux

# Unpack once; again only when Debian updated the package (a newer tarball).
if [ ! -f "$src/.unpacked" ] || [ "$tarball" -nt "$src/.unpacked" ]; then
    echo "kernel: unpacking $tarball" >&2
    rm -rf "$src"
    mkdir -p "$cache/src"
    tar -xf "$tarball" -C "$cache/src"
    touch "$src/.unpacked"
fi

# Fixed build user/host/time, so that the same config gives the same banner.
kmake() {
    make -s -C "$src" O="$obj" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
        KBUILD_BUILD_USER=tern KBUILD_BUILD_HOST=tern \
        KBUILD_BUILD_TIMESTAMP="2024-01-01" "$@"
}

mkdir -p "$obj" "$cache/logs"
: > "$log"
echo "kernel: configuring (allnoconfig + kernel.config)" >&2
quiet "$log" kmake KCONFIG_ALLCONFIG="$here/kernel.config" allnoconfig
quiet "$log" kmake olddefconfig

# Every option of the fragment must have survived: Kconfig drops an option whose
# dependencies are unmet without a word.
missing=$(grep -E '^CONFIG_' "$here/kernel.config" | while read -r line; do
    grep -qxF "$line" "$obj/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
    echo "kernel: these kernel.config options did not survive olddefconfig:" >&2
    echo "$missing" >&2
    exit 1
fi

echo "kernel: building Image with $(nproc) jobs (output in $log)" >&2
start=$(date +%s)
quiet "$log" kmake -j"$(nproc)" Image
echo "kernel: built in $(( $(date +%s) - start )) s" >&2
cp "$obj/arch/riscv/boot/Image" "$cache/Image"
kmake kernelrelease > "$cache/kernel.release"
