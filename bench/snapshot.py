#!/usr/bin/env python3
"""Snapshot benchmark: how long snapshot and restore take for a Linux guest, and how
big the files are.

For each RAM size (256 MiB and 1 GiB) and each compression (none, zstd), boots the
guest images of `cargo xtask guest` on `tern run --machine virt`, lets the guest
touch memory (it fills --fill MiB of tmpfs with random data, then sleeps), and then:
  - snapshot: `tern snapshot` through the control socket; the time the VM was held
    (paused) as the VMM reports it, and the wall time of the command;
  - file size: apparent size and blocks actually used (files are sparse);
  - restore to running: `tern restore --stats` reports when the machine is ready to
    execute its next instruction;
  - restore to console: from starting `tern restore` to the guest's next console line
    (the guest prints a line every 100 ms).
Targets (issue 5): restore-to-running <= 5 ms for a 256 MiB guest; snapshot of an idle
256 MiB guest <= 100 ms.

Usage: bench/snapshot.py [--fill MIB]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from benchlib import guest_dir, tern_binary


def wait_for(proc_out, needle, limit):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        with open(proc_out, "rb") as f:
            if needle in f.read():
                return time.monotonic() - start
        time.sleep(0.01)
    sys.exit(f"snapshot.py: the guest did not print {needle!r}")


def ticker_script(fill_mib):
    # Runs in the guest: touch memory, then print a line every 100 ms forever.
    fill = (f"dd if=/dev/urandom of=/tmp/fill bs=1M count={fill_mib} 2>/dev/null; " if fill_mib else "")
    return ("mount -t tmpfs -o size=90% tmpfs /tmp; " + fill +
            "echo bench: ready; i=0; while true; do i=$((i+1)); echo tick $i; usleep 100000; done")


def one(tern, g, mem_mib, zstd, fill_mib, work):
    sock = os.path.join(work, f"vm-{mem_mib}-{zstd}.sock")
    snap = os.path.join(work, f"vm-{mem_mib}-{zstd}.tern")
    out1 = os.path.join(work, f"boot-{mem_mib}-{zstd}.out")
    cmd = [tern, "run", "--machine", "virt", "--memory", str(mem_mib),
           "--kernel", os.path.join(g, "Image"), "--initrd", os.path.join(g, "initramfs.cpio.gz"),
           "--append", "console=ttyS0", "--api-sock", sock]
    with open(out1, "wb") as o:
        vm = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=o, stderr=subprocess.STDOUT)
        wait_for(out1, b"tern: init on Linux", 300)
        time.sleep(1)
        vm.stdin.write((ticker_script(fill_mib) + "\r").encode())
        vm.stdin.flush()
        wait_for(out1, b"tick 3", 300)
        args = [tern, "snapshot", "--api-sock", sock, "--out", snap, "--json"]
        if zstd:
            args.append("--zstd")
        t0 = time.monotonic()
        res = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout.decode()
        snap_wall = time.monotonic() - t0
        held_us = int(re.search(r'"duration_us":\s*(\d+)', res).group(1))
        subprocess.run([tern, "stop", "--api-sock", sock], stdout=subprocess.DEVNULL)
        vm.wait(timeout=60)
    st = os.stat(snap)
    out2 = os.path.join(work, f"restore-{mem_mib}-{zstd}.out")
    with open(out2, "wb") as o:
        t0 = time.monotonic()
        r = subprocess.Popen([tern, "restore", snap, "--stats", "--api-sock", sock + "2"],
                             stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT)
        to_console = wait_for(out2, b"tick ", 60)
        r.terminate()
        r.wait(timeout=30)
    text = open(out2, "rb").read().decode(errors="replace")
    m = re.search(r"restored \S+ in ([\d.]+) ms", text)
    restore_ms = float(m.group(1)) if m else float("nan")
    return {
        "held_ms": held_us / 1000, "snap_wall_ms": snap_wall * 1000,
        "apparent_mib": st.st_size / 2**20, "used_mib": st.st_blocks * 512 / 2**20,
        "restore_ms": restore_ms, "console_ms": to_console * 1000,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fill", type=int, default=0, help="MiB of guest memory to fill before the snapshot (0: an idle guest)")
    args = ap.parse_args()
    g = guest_dir()
    tern = tern_binary()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tern-snapbench-") as work:
        for mem in (256, 1024):
            for zstd in (False, True):
                rows.append((mem, zstd, one(tern, g, mem, zstd, args.fill, work)))
    print(f"snapshot benchmark: Linux guest with {args.fill} MiB of tmpfs filled, load average {os.getloadavg()[0]:.2f}")
    print(f"{'RAM':>6} {'zstd':>5} {'held ms':>9} {'snapshot ms':>12} {'file MiB':>9} {'on disk MiB':>12}"
          f" {'restore ms':>11} {'to console ms':>14}")
    for mem, zstd, r in rows:
        print(f"{mem:>5}M {'yes' if zstd else 'no':>5} {r['held_ms']:>9.1f} {r['snap_wall_ms']:>12.1f}"
              f" {r['apparent_mib']:>9.1f} {r['used_mib']:>12.1f} {r['restore_ms']:>11.2f} {r['console_ms']:>14.1f}")
    r256 = [r for mem, z, r in rows if mem == 256 and not z][0]
    print(f"target restore-to-running <= 5 ms (256 MiB, uncompressed): {r256['restore_ms']:.2f} ms "
          f"{'met' if r256['restore_ms'] <= 5 else 'NOT met'}")
    if args.fill == 0:
        print("target snapshot of an idle 256 MiB guest <= 100 ms: "
              f"{r256['held_ms']:.1f} ms {'met' if r256['held_ms'] <= 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
