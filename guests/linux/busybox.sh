#!/bin/bash
# Builds busybox for the guest: Debian's busybox source package (apt-get source),
# static, for riscv64, configured by busybox.config on top of defconfig.
#
# Usage: busybox.sh CACHE_DIR
# Writes CACHE_DIR/busybox and CACHE_DIR/busybox.links (the applets' install paths).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cache=$1
log=$cache/logs/busybox.log
obj=$cache/build/busybox

mkdir -p "$cache/logs"
: > "$log"

# Fetch and unpack the Debian source (with Debian's patches applied) once per version.
version=$(apt-cache showsrc busybox | sed -n 's/^Version: //p' | sort -V | tail -n1)
[ -n "$version" ] || { echo "busybox: no source package known to apt (deb-src missing?)" >&2; exit 1; }
src=$cache/src/busybox-$(echo "$version" | sed -E 's/^[0-9]+://; s/-[^-]*$//')
if [ ! -f "$src/.unpacked-$version" ]; then
    echo "busybox: apt-get source busybox=$version" >&2
    rm -rf "$src"
    mkdir -p "$cache/src"
    (cd "$cache/src" && quiet "$log" apt-get source "busybox=$version")
    touch "$src/.unpacked-$version"
fi

bmake() {
    make -s -C "$src" O="$obj" KBUILD_BUILD_TIMESTAMP="2024-01-01" "$@"
}

# A fresh object tree each time: busybox's kbuild is old and a config change
# (e.g. an applet switched off) does not always rebuild what depends on it.
rm -rf "$obj"
mkdir -p "$obj"
echo "busybox: configuring (defconfig + busybox.config)" >&2
quiet "$log" bmake defconfig
# Replace each option busybox.config names, set or unset, with the fragment's line.
keys=$(grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' "$here/busybox.config" | sed 's/^# //')
for key in $keys; do
    sed -i -E "/^(# )?$key[= ]/d" "$obj/.config"
done
grep -E '^(# )?CONFIG_' "$here/busybox.config" >> "$obj/.config"
# Options the fragment makes visible get their defaults (the empty answers).
quiet "$log" bmake oldconfig < <(yes "")
missing=$(grep -E '^(# )?CONFIG_' "$here/busybox.config" | while read -r line; do
    grep -qxF "$line" "$obj/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
    echo "busybox: these busybox.config options did not survive oldconfig:" >&2
    echo "$missing" >&2
    exit 1
fi

echo "busybox: building with $(nproc) jobs (output in $log)" >&2
start=$(date +%s)
quiet "$log" bmake -j"$(nproc)" busybox
echo "busybox: built in $(( $(date +%s) - start )) s" >&2
cp "$obj/busybox" "$cache/busybox"
quiet "$log" bmake busybox.links
cp "$obj/busybox.links" "$cache/busybox.links"
