#!/bin/bash
# Installs the Debian packages the guest build needs, and a deb-src entry for the
# bookworm mirror in use (busybox is built from its Debian source package).
# Does nothing when all is there already; as non-root it only says what is missing.
set -euo pipefail

# Build tools, the cross compiler, and the sources (linux-source-6.1 is a tarball
# under /usr/src). libc6-dev-riscv64-cross is the glibc that busybox links statically.
packages="linux-source-6.1 gcc-riscv64-linux-gnu libc6-dev-riscv64-cross make gcc
libc6-dev flex bison bc libssl-dev libelf-dev xz-utils cpio gzip e2fsprogs dpkg-dev
perl python3"

# The file apt reads for the deb-src entry this script adds.
src_list=/etc/apt/sources.list.d/tern-deb-src.sources

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done

# Is there any deb-src entry for bookworm (ours or one the machine already had)?
have_deb_src() {
    grep -RqsE '^deb-src[[:space:]].*[[:space:]]bookworm[[:space:]]' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        || grep -RqsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}

# The URI of the mirror that serves bookworm's main suite, from either format of apt
# source list; deb.debian.org when none is found.
mirror_uri() {
    local uri
    uri=$(awk 'BEGIN { RS = "" }
        /(^|\n)Types:[^\n]*deb/ && /(^|\n)Suites:[^\n]*bookworm([ \n]|$)/ {
            if (match($0, /URIs:[ \t]*[^ \t\n]+/)) {
                s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit
            }
        }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [ -z "$uri" ]; then
        uri=$(sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm[[:space:]].*/\2/p' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

need_src=0
have_deb_src || need_src=1
if [ -z "$missing" ] && [ "$need_src" = 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    [ -n "$missing" ] && echo "packages: missing Debian packages:$missing" >&2
    [ "$need_src" = 1 ] && echo "packages: no deb-src entry for bookworm (needed by 'apt-get source busybox')" >&2
    echo "packages: run this build as root, or install them with apt-get" >&2
    exit 1
fi

if [ "$need_src" = 1 ]; then
    uri=$(mirror_uri)
    echo "packages: adding deb-src for bookworm from $uri in $src_list" >&2
    cat > "$src_list" <<SRC
# Added by tern's guests/linux/packages.sh: source packages (apt-get source busybox).
Types: deb-src
URIs: $uri
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

echo "packages: apt-get update" >&2
apt-get update -qq >&2
if [ -n "$missing" ]; then
    echo "packages: installing$missing" >&2
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi
