#!/usr/bin/env python3
"""Boot benchmark: the same Linux kernel and initramfs on tern and on QEMU.

Boots the guest images of `cargo xtask guest` (Linux 6.1 + busybox initramfs) on
  - qemu-system-riscv64 -machine virt with its default firmware (OpenSBI),
  - tern run --machine virt with tern's own SBI,
  - tern run --machine virt --bios fw_jump.bin (Debian's OpenSBI),
to the first userspace line ("tern: init on Linux") and to power-off, and prints the
wall times and the ratios tern/QEMU from one run (best of --runs, default 3). For tern
it also reports host memory overhead: peak RSS minus the guest RAM the guest wrote
(`tern run --stats`); the target is at most 20 MiB with one hart.

Usage: bench/boot.py [--runs N] [--cpus N] [--plugin NAME[=ARG]]... [--policy FILE]
                     [--tern-only]

--plugin installs a built-in plugin in the tern setups (`--plugin insn-count` for the
exact instruction counter: its report is left out of the output) to measure its
overhead; --policy FILE applies a `tern run --policy` file (SBI and MMIO rules) in the
tern setups (SBI rules need tern's own SBI: use MMIO rules only to compare both);
--tern-only skips QEMU (the ratios are then to tern's own-SBI setup).
"""

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time

from benchlib import guest_dir, tern_binary
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
FIRST_LINE = b"tern: init on Linux"


def need(tool, package):
    if shutil.which(tool) is None and not os.path.exists(tool):
        sys.exit(f"boot.py: {tool} is missing: apt-get install {package}")


def timed_boot(cmd):
    """Runs cmd; returns (seconds to the first userspace line, seconds to exit, output,
    peak RSS of the child in KiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    first = None
    out = b""
    for chunk in iter(lambda: proc.stdout.read1(65536), b""):
        out += chunk
        if first is None and FIRST_LINE in out:
            first = time.monotonic() - start
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.monotonic() - start
    if not re.search(rb"tern: run exit status 0", out):
        sys.exit(f"boot.py: the guest did not finish on {' '.join(cmd)}:\n{out.decode(errors='replace')[-3000:]}")
    return first or total, total, out, usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--plugin", action="append", default=[])
    ap.add_argument("--policy")
    ap.add_argument("--tern-only", action="store_true")
    args = ap.parse_args()
    plugins = [a for p in args.plugin for a in ("--plugin", p)]
    if args.policy:
        plugins += ["--policy", os.path.abspath(args.policy)]
    need("qemu-system-riscv64", "qemu-system-misc")
    need(OPENSBI, "opensbi")
    g = guest_dir()
    tern = tern_binary()
    kernel, initrd = os.path.join(g, "Image"), os.path.join(g, "initramfs.cpio.gz")
    append = "console=ttyS0 tern.run=/tests/poweroff.sh"
    common = ["-kernel", kernel, "-initrd", initrd, "-append", append]
    setups = {
        "qemu (OpenSBI)": ["qemu-system-riscv64", "-machine", "virt", "-nographic", "-m", "256M",
                           "-smp", str(args.cpus)] + common,
        "tern (own SBI)": [tern, "run", "--machine", "virt", "--memory", "256", "--cpus", str(args.cpus),
                           "--kernel", kernel, "--initrd", initrd, "--append", append, "--stats"] + plugins,
        "tern (OpenSBI)": [tern, "run", "--machine", "virt", "--memory", "256", "--cpus", str(args.cpus),
                           "--bios", OPENSBI, "--kernel", kernel, "--initrd", initrd, "--append", append,
                           "--stats"] + plugins,
    }
    if args.tern_only:
        del setups["qemu (OpenSBI)"]
    best = {}
    mem = {}
    for _ in range(args.runs):
        for name, cmd in setups.items():
            first, total, out, rss = timed_boot(cmd)
            b = best.get(name)
            if b is None or total < b[1]:
                best[name] = (first, total)
            m = re.search(rb"guest RAM touched: (\d+) KiB", out)
            if m:
                mem[name] = (rss, int(m.group(1)))
    load = os.getloadavg()
    print(f"boot benchmark: {args.cpus} hart(s), best of {args.runs}, load average {load[0]:.2f}"
          f"{', plugins: ' + ' '.join(args.plugin) if args.plugin else ''}"
          f"{', policy: ' + args.policy if args.policy else ''}")
    print(f"guest: {kernel}")
    print(f"{'setup':<16}{'to userspace s':>16}{'to poweroff s':>15}{'ratio (poweroff)':>18}")
    q = best["qemu (OpenSBI)" if "qemu (OpenSBI)" in best else "tern (own SBI)"][1]
    ratios = []
    for name, (first, total) in best.items():
        ratio = total / q
        if name.startswith("tern"):
            ratios.append(ratio)
        print(f"{name:<16}{first:>16.3f}{total:>15.3f}{ratio:>17.2f}x")
    if not args.tern_only:
        print(f"target: tern's wall time at most QEMU's: {'met' if max(ratios) <= 1.0 else 'NOT met'}"
              f" (worst ratio {max(ratios):.2f}x)")
    for name, (rss, touched) in mem.items():
        over = (rss - touched) / 1024
        print(f"{name}: peak RSS {rss / 1024:.1f} MiB, guest RAM touched {touched / 1024:.1f} MiB,"
              f" overhead {over:.1f} MiB (target <= 20 MiB: {'met' if over <= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
