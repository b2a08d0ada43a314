#!/bin/bash
# Benchmark of the process VM (`tern exec`) against qemu-riscv64 and native x86-64:
#
#   1. esbuild bundling three.js (@esbuild/linux-riscv64 vs @esbuild/linux-x64, same
#      version, same input; the bundles must be byte-identical);
#   2. bzip2 -9 compressing and decompressing 8 MiB of generated text, built from
#      Debian's bzip2 source package with riscv64-linux-gnu-gcc (static) and gcc;
#   3. start-up: a static riscv64 hello world run N times (target: under 5 ms each);
#   4. peak host memory (maximum resident set size) of each run.
#
# Usage: bench/exec.sh [--runs-startup N] [--hook none|policy|insn-count]
# --hook (or $TERN_HOOK) runs tern with an interposition hook installed: `policy`, a
# system-call policy that logs the calls the workloads make most (to a file);
# `insn-count`, the exact per-function instruction counter (its report goes to a
# file). Compare with `none` (the default) for the hooks' overhead.
# tern comes from $TERN, or target/release/tern (built if missing). Products go to
# ${TERN_CACHE:-~/.cache/tern}/bench/exec. Wall times are from one run each (the
# machine is shared: compare on a quiet one; the load average is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${TERN_CACHE:-$HOME/.cache/tern}
out=$cache/bench/exec
npm_cache=$cache/npm
startup_runs=200
hook=${TERN_HOOK:-none}
while [ $# -gt 0 ]; do
    case "$1" in
        --runs-startup) startup_runs=$2; shift 2 ;;
        --hook) hook=$2; shift 2 ;;
        *) echo "usage: bench/exec.sh [--runs-startup N] [--hook none|policy|insn-count]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out" "$npm_cache"
# The options that install the hook, after `tern exec`.
case "$hook" in
    none) hook_args=() ;;
    policy)
        printf 'log read write openat close mmap brk fstat newfstatat lseek\nlog-file %s\n' \
            "$out/policy.log" > "$out/policy.txt"
        hook_args=(--policy "$out/policy.txt") ;;
    insn-count) hook_args=(--plugin insn-count) ;;
    *) echo "bench/exec.sh: --hook none|policy|insn-count" >&2; exit 2 ;;
esac

need() { # program package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y "$2" >/dev/null
    else
        echo "bench/exec.sh: $1 is missing: apt-get install $2" >&2
        exit 1
    fi
}
need riscv64-linux-gnu-gcc gcc-riscv64-linux-gnu
need qemu-riscv64 qemu-user
need npm npm
need gcc gcc
[ -x /usr/bin/time ] || need time time

tern=${TERN:-$repo/target/release/tern}
if [ ! -x "$tern" ]; then
    (cd "$repo" && cargo build --release -p tern)
fi
# tern exec with the hook (a plugin's report goes to $out/stderr.LABEL).
tern_exec=("$tern" exec "${hook_args[@]}")

# --- inputs -------------------------------------------------------------------
esbuild_version=0.28.2
three_version=0.170.0
pkg() { # name version -> prints the unpacked package directory
    local flat=${1#@}
    flat=${flat//\//-}
    local dir=$npm_cache/$flat-$2
    if [ ! -f "$dir/.unpacked" ]; then
        (cd "$npm_cache" && npm pack --silent "$1@$2" >/dev/null)
        rm -rf "$dir" && mkdir -p "$dir"
        tar xzf "$npm_cache/$flat-$2.tgz" -C "$dir"
        touch "$dir/.unpacked"
    fi
    echo "$dir/package"
}
esb_rv=$(pkg @esbuild/linux-riscv64 $esbuild_version)/bin/esbuild
esb_x64=$(pkg @esbuild/linux-x64 $esbuild_version)/bin/esbuild
three=$(pkg three $three_version)
proj=$out/esbuild-three
if [ ! -f "$proj/entry.js" ]; then
    rm -rf "$proj" && mkdir -p "$proj/node_modules"
    cp -r "$three" "$proj/node_modules/three"
    printf "import * as THREE from 'three';\nexport const scene = new THREE.Scene();\nexport default THREE;\n" > "$proj/entry.js"
fi

bz=$out/bzip2-src
if [ ! -x "$out/bzip2-riscv64" ] || [ ! -x "$out/bzip2-x86_64" ]; then
    rm -rf "$bz" && mkdir -p "$bz"
    (cd "$bz" && apt-get source bzip2 >/dev/null 2>&1) || {
        echo "bench/exec.sh: apt-get source bzip2 failed: a deb-src entry is needed (guests/linux/packages.sh adds one)" >&2
        exit 1
    }
    src=$(ls -d "$bz"/bzip2-*/ | head -n1)
    files="bzip2.c blocksort.c huffman.c crctable.c randtable.c compress.c decompress.c bzlib.c"
    (cd "$src" && riscv64-linux-gnu-gcc -O2 -static -D_FILE_OFFSET_BITS=64 -o "$out/bzip2-riscv64" $files)
    (cd "$src" && gcc -O2 -D_FILE_OFFSET_BITS=64 -o "$out/bzip2-x86_64" $files)
fi
input=$out/input.txt
if [ ! -f "$input" ]; then
    awk 'BEGIN { x = 12345; for (i = 0; i < 420000; i++) { x = (x * 1103515245 + 12345) % 2147483648;
        printf "%08d %s %d\n", i, substr("lorem ipsum dolor sit amet consectetur adipiscing elit", x % 40 + 1, 12), x % 1000 } }' > "$input"
fi
riscv64-linux-gnu-gcc -O2 -static -o "$out/hello" "$repo/guests/linux-user/hello.c"

# --- measuring ----------------------------------------------------------------
# run LABEL OUTFILE CMD...: wall seconds into $wall, peak RSS KiB into $rss.
run() {
    local label=$1 outfile=$2
    shift 2
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$out/time.$label" "$@" > "$outfile" 2> "$out/stderr.$label" ||
        { cat "$out/stderr.$label" >&2; exit 1; }
    t1=$(date +%s.%N)
    wall=$(echo "$t1 - $t0" | bc -l)
    rss=$(tail -n1 "$out/time.$label")
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); hook: $hook"
printf '\n%-22s %10s %10s %10s %12s %12s   %s\n' workload native qemu tern tern/native tern/qemu "peak RSS (native/qemu/tern, MiB)"

cd "$proj"
run esb-native "$out/bundle.native.js" "$esb_x64" --bundle entry.js --minify --format=esm
n_w=$wall n_m=$rss
run esb-qemu "$out/bundle.qemu.js" qemu-riscv64 "$esb_rv" --bundle entry.js --minify --format=esm
q_w=$wall q_m=$rss
run esb-tern "$out/bundle.tern.js" "${tern_exec[@]}" "$esb_rv" --bundle entry.js --minify --format=esm
t_w=$wall t_m=$rss
cmp -s "$out/bundle.native.js" "$out/bundle.tern.js" || { echo "esbuild: tern's bundle differs from native" >&2; exit 1; }
cmp -s "$out/bundle.native.js" "$out/bundle.qemu.js" || { echo "esbuild: qemu's bundle differs from native" >&2; exit 1; }
printf '%-22s %9.3fs %9.3fs %9.3fs %11.1fx %11.2fx   %d / %d / %d\n' "esbuild three.js" "$n_w" "$q_w" "$t_w" \
    "$(ratio "$t_w" "$n_w")" "$(ratio "$t_w" "$q_w")" $((n_m / 1024)) $((q_m / 1024)) $((t_m / 1024))

cd "$out"
run bz-native "$out/input.bz2.native" ./bzip2-x86_64 -9 -c "$input"
n_w=$wall n_m=$rss
run bz-qemu "$out/input.bz2.qemu" qemu-riscv64 ./bzip2-riscv64 -9 -c "$input"
q_w=$wall q_m=$rss
run bz-tern "$out/input.bz2.tern" "${tern_exec[@]}" ./bzip2-riscv64 -9 -c "$input"
t_w=$wall t_m=$rss
cmp -s input.bz2.native input.bz2.tern || { echo "bzip2: tern's output differs from native" >&2; exit 1; }
cmp -s input.bz2.native input.bz2.qemu || { echo "bzip2: qemu's output differs from native" >&2; exit 1; }
printf '%-22s %9.3fs %9.3fs %9.3fs %11.1fx %11.2fx   %d / %d / %d\n' "bzip2 -9 (8 MiB)" "$n_w" "$q_w" "$t_w" \
    "$(ratio "$t_w" "$n_w")" "$(ratio "$t_w" "$q_w")" $((n_m / 1024)) $((q_m / 1024)) $((t_m / 1024))

run bzd-native "$out/input.native" ./bzip2-x86_64 -d -c input.bz2.native
n_w=$wall n_m=$rss
run bzd-qemu "$out/input.qemu" qemu-riscv64 ./bzip2-riscv64 -d -c input.bz2.native
q_w=$wall q_m=$rss
run bzd-tern "$out/input.tern" "${tern_exec[@]}" ./bzip2-riscv64 -d -c input.bz2.native
t_w=$wall t_m=$rss
cmp -s "$input" input.tern || { echo "bunzip2: tern's output differs from the input" >&2; exit 1; }
printf '%-22s %9.3fs %9.3fs %9.3fs %11.1fx %11.2fx   %d / %d / %d\n' "bzip2 -d" "$n_w" "$q_w" "$t_w" \
    "$(ratio "$t_w" "$n_w")" "$(ratio "$t_w" "$q_w")" $((n_m / 1024)) $((q_m / 1024)) $((t_m / 1024))

# Start-up: the whole `tern exec hello` process, N times, minus the same loop
# running /bin/true (the cost of starting any process from this shell).
loop() { # cmd... ; prints the average milliseconds per run
    local t0 t1 i
    t0=$(date +%s%N)
    for ((i = 0; i < startup_runs; i++)); do "$@" > /dev/null 2>&1; done
    t1=$(date +%s%N)
    echo "scale=2; ($t1 - $t0) / $startup_runs / 1000000" | bc -l
}
base=$(loop /bin/true)
ts=$(loop "${tern_exec[@]}" "$out/hello")
qs=$(loop qemu-riscv64 "$out/hello")
run hello-tern /dev/null "${tern_exec[@]}" "$out/hello"
printf '\nstart-up of a static hello world (%d runs): tern %.2f ms, qemu-riscv64 %.2f ms per run;\n' "$startup_runs" "$ts" "$qs"
printf 'starting /bin/true from this shell costs %.2f ms, so tern itself takes %.2f ms (target: under 5 ms); peak RSS %d KiB\n' \
    "$base" "$(echo "$ts - $base" | bc -l)" "$rss"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
