#!/usr/bin/env bash
# CPU benchmark of tern's interpreter against QEMU on the spike board.
#
# Builds the bare-metal programs of bench/spike/ into a cache directory, runs each
# on `tern run --machine spike` and on `qemu-system-riscv64 -machine spike`, checks
# that both print the same output and exit 0, and prints the best-of-N wall time of
# each, the ratio tern/QEMU and the geometric mean of the ratios. See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/spike.sh [options] [PROGRAM...]

Runs the spike CPU benchmarks (default: hash sort calls interp float).

options:
  --runs N         runs per program and emulator; the best (shortest) counts (default 3)
  --qemu-only      do not run tern (QEMU times only)
  --timeout S      limit for one run, in seconds (default 300)
  --max-ratio R    exit with status 3 if the geometric mean of tern/QEMU exceeds R
  -h, --help       this text

environment:
  TERN        tern binary (default: target/release/tern, built with cargo if missing)
  TERN_ENGINE tern's engine, interp or jit (read by tern itself; default interp)
  TERN_CACHE  cache directory (default: ~/.cache/tern); programs go to $TERN_CACHE/bench/spike
  QEMU        QEMU binary (default: qemu-system-riscv64)
  RISCV_CC    cross compiler (default: riscv64-unknown-elf-gcc)
EOF
}

ALL_PROGRAMS=(hash sort calls interp float)
RUNS=3
QEMU_ONLY=0
TIMEOUT=300
MAX_RATIO=
PROGRAMS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --qemu-only) QEMU_ONLY=1; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --max-ratio) MAX_RATIO=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "spike.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) PROGRAMS+=("$1"); shift ;;
    esac
done
[ ${#PROGRAMS[@]} -gt 0 ] || PROGRAMS=("${ALL_PROGRAMS[@]}")
case "$RUNS" in '' | *[!0-9]* | 0) echo "spike.sh: --runs needs a positive integer" >&2; exit 2 ;; esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SRC=$BENCH_DIR/spike
COMMON=$ROOT/guests/baremetal/common
OUT=${TERN_CACHE:-$HOME/.cache/tern}/bench/spike
QEMU=${QEMU:-qemu-system-riscv64}
RISCV_CC=${RISCV_CC:-riscv64-unknown-elf-gcc}

die() { echo "spike.sh: $*" >&2; exit 1; }

for p in "${PROGRAMS[@]}"; do
    [ -f "$SRC/$p.c" ] || die "no program '$p' (have: ${ALL_PROGRAMS[*]})"
done

# ---- tools ----

missing=()
command -v "$RISCV_CC" >/dev/null || missing+=(gcc-riscv64-unknown-elf)
command -v "$QEMU" >/dev/null || missing+=(qemu-system-misc)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "spike.sh: installing ${missing[*]}" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
            die "apt-get install ${missing[*]} failed"
    else
        die "missing ${missing[*]}: install with  sudo apt-get install ${missing[*]}"
    fi
    command -v "$RISCV_CC" >/dev/null || die "still no $RISCV_CC after installing gcc-riscv64-unknown-elf"
    command -v "$QEMU" >/dev/null || die "still no $QEMU after installing qemu-system-misc"
fi
command -v timeout >/dev/null || die "missing timeout (coreutils)"

# ---- build the programs ----

CFLAGS=(-march=rv64gc -mabi=lp64d -mcmodel=medany -O2
    -nostdlib -nostartfiles -ffreestanding -I "$COMMON" -T "$COMMON/link.ld")
mkdir -p "$OUT"
for p in "${PROGRAMS[@]}"; do
    elf=$OUT/$p.elf
    stale=0
    for dep in "$SRC/$p.c" "$SRC/bench.h" "$SRC/lib.c" "$COMMON"/*; do
        [ "$elf" -nt "$dep" ] || stale=1
    done
    if [ $stale = 1 ]; then
        "$RISCV_CC" "${CFLAGS[@]}" "$COMMON/crt0.S" "$COMMON/crt.c" "$COMMON/htif.S" \
            "$SRC/lib.c" "$SRC/$p.c" -o "$elf.tmp" || die "building $p failed"
        mv "$elf.tmp" "$elf"
    fi
done

# ---- tern ----

if [ $QEMU_ONLY = 0 ]; then
    if [ -n "${TERN:-}" ]; then
        [ -x "$TERN" ] || die "TERN=$TERN is not an executable"
    else
        TERN=$ROOT/target/release/tern
        if [ ! -x "$TERN" ]; then
            command -v cargo >/dev/null || die "no $TERN and no cargo to build it"
            echo "spike.sh: building tern (cargo build --release -p tern)" >&2
            (cd "$ROOT" && cargo build --release -p tern) >&2 || die "building tern failed (use --qemu-only to time QEMU alone)"
        fi
    fi
fi

# ---- running ----

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# run_once EMULATOR PROGRAM: runs it once; sets RC, WALL and CPU (user + sys seconds)
# and leaves its stdout in $WORK/EMULATOR.PROGRAM.out and stderr in .err.
run_once() {
    local emu=$1 p=$2 elf=$OUT/$2.elf real user sys
    local cmd
    if [ "$emu" = qemu ]; then
        cmd=("$QEMU" -machine spike -bios none -kernel "$elf" -nographic -monitor none)
    else
        cmd=("$TERN" run --machine spike --kernel "$elf")
    fi
    RC=0
    local TIMEFORMAT='%3R %3U %3S'
    { time timeout "$TIMEOUT" "${cmd[@]}" </dev/null >"$WORK/$emu.$p.out" 2>"$WORK/$emu.$p.err" || RC=$?; } 2>"$WORK/time"
    read -r real user sys <"$WORK/time"
    WALL=$real
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
}

# check_run EMULATOR PROGRAM RUN: the run exited 0 and printed what the first run
# printed; otherwise explains and returns 1.
check_run() {
    local emu=$1 p=$2 i=$3
    if [ $RC != 0 ]; then
        if [ $RC = 124 ]; then
            echo "$p on $emu: timed out after ${TIMEOUT}s" >&2
        else
            echo "$p on $emu: exit status $RC" >&2
        fi
        sed 's/^/    /' "$WORK/$emu.$p.out" "$WORK/$emu.$p.err" | tail -20 >&2
        return 1
    fi
    if [ "$i" = 0 ]; then
        cp "$WORK/$emu.$p.out" "$WORK/$emu.$p.first"
    elif ! cmp -s "$WORK/$emu.$p.out" "$WORK/$emu.$p.first"; then
        echo "$p on $emu: output changed between runs" >&2
        return 1
    fi
}

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

echo "spike CPU benchmark: best of $RUNS run(s) per program, wall time including start-up"
echo "host: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "qemu: $("$QEMU" --version | head -1)"
[ $QEMU_ONLY = 1 ] || echo "tern: $TERN"
echo

EMULATORS=(qemu)
[ $QEMU_ONLY = 1 ] || EMULATORS+=(tern)
failures=0
declare -A WALLS CPUS STATUS FAILED
for p in "${PROGRAMS[@]}"; do
    STATUS[$p]=ok
    # QEMU and tern take turns, so that both see the same load on a shared machine.
    for ((i = 0; i < RUNS; i++)); do
        for emu in "${EMULATORS[@]}"; do
            [ -z "${FAILED[$emu.$p]:-}" ] || continue
            run_once "$emu" "$p"
            if ! check_run "$emu" "$p" "$i"; then
                FAILED[$emu.$p]=1
                STATUS[$p]="$emu failed"
                continue
            fi
            WALLS[$emu.$p]=$(min "${WALLS[$emu.$p]:-}" "$WALL")
            CPUS[$emu.$p]=$(min "${CPUS[$emu.$p]:-}" "$CPU")
        done
    done
    for emu in "${EMULATORS[@]}"; do
        [ -z "${FAILED[$emu.$p]:-}" ] || unset "WALLS[$emu.$p]" "CPUS[$emu.$p]"
    done
    if [ "${STATUS[$p]}" = ok ] && [ $QEMU_ONLY = 0 ] &&
        ! cmp -s "$WORK/tern.$p.first" "$WORK/qemu.$p.first"; then
        echo "$p: tern's output differs from QEMU's:" >&2
        diff "$WORK/qemu.$p.first" "$WORK/tern.$p.first" | sed 's/^/    /' >&2 || true
        STATUS[$p]="output differs"
        unset "WALLS[tern.$p]" "CPUS[tern.$p]"
    fi
    [ "${STATUS[$p]}" = ok ] || failures=$((failures + 1))
done

# ---- the table ----

{
    for p in "${PROGRAMS[@]}"; do
        echo "$p ${WALLS[qemu.$p]:--} ${WALLS[tern.$p]:--} ${STATUS[$p]// /_}" \
            "${CPUS[qemu.$p]:--} ${CPUS[tern.$p]:--}"
    done
} | awk -v qemu_only=$QEMU_ONLY -v max_ratio="$MAX_RATIO" '
BEGIN {
    if (qemu_only) printf "%-8s %9s\n", "program", "QEMU s"
    else printf "%-8s %9s %9s %10s\n", "program", "QEMU s", "tern s", "tern/QEMU"
}
{
    status = $4; gsub("_", " ", status)
    if (qemu_only) { printf "%-8s %9s%s\n", $1, $2, status == "ok" ? "" : "  " status; next }
    if ($2 != "-" && $3 != "-") {
        r = $3 / $2; logsum += log(r); n++
        if ($5 > 0 && $6 > 0) { cpulogsum += log($6 / $5); ncpu++ }
        printf "%-8s %9.3f %9.3f %9.2fx\n", $1, $2, $3, r
    } else {
        printf "%-8s %9s %9s %10s  %s\n", $1, $2, $3, "-", status
    }
}
END {
    if (qemu_only || n == 0) exit 0
    g = exp(logsum / n)
    printf "%-8s %9s %9s %9.2fx", "geomean", "", "", g
    if (n < NR) printf "  (%d of %d programs: no verdict)\n", n, NR
    else printf "   target: <= 4x QEMU: %s\n", g <= 4 ? "met" : "NOT met"
    if (ncpu == n)
        printf "(CPU time, user + sys, best of each: geomean %.2fx; steadier than wall time under load)\n",
            exp(cpulogsum / ncpu)
    if (max_ratio != "" && g > max_ratio) {
        printf "geometric mean %.2fx exceeds --max-ratio %s\n", g, max_ratio
        exit 3
    }
}' || status=$?
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) (timings are noisy when other work runs)"

if [ $failures -gt 0 ]; then
    echo "spike.sh: $failures program(s) failed" >&2
    exit 1
fi
exit "${status:-0}"
