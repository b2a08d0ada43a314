#!/usr/bin/env python3
"""Live migration: tern against QEMU, side by side, on the loopback.

The same Linux guest (the test kernel and initramfs, one hart, --memory MiB of RAM,
256 by default) is booted on the source and moved to a destination on 127.0.0.1 once
it runs its workload, by pre-copy or (--mode postcopy) post-copy, and the move's
figures are read from the source. Workloads (--workload): `idle` runs
`/tests/sleep.sh 600` (idle with an armed timer); `busy` runs `/tests/dirty.sh 20`,
which rewrites 1.7 MB of its memory 20 times a second (about 34 MB/s).

  - qemu-system-riscv64 -machine virt (OpenSBI), destination `-incoming tcp:...`,
    the move started with QMP `migrate` and followed with `query-migrate` (its
    `downtime`, `total-time` and `ram.transferred`); QEMU's defaults (downtime limit
    300 ms, bandwidth cap 128 MiB/s in 7.2);
  - tern run (own SBI) --migratable, destination `tern receive --insecure`, the move
    by `tern migrate --json` (its `downtime_ms`, `total_ms`, `bytes_sent`); tern's
    defaults (downtime budget 100 ms, no bandwidth cap).

Prints the best (shortest downtime) of --runs moves per emulator and the ratios
tern/QEMU, and checks the guest goes on at the destination (its `sleep: woke` line
after a short sleep with --check). Run it on a quiet machine.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import guest_dir, tern_binary


def need(tool, package):
    if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
        sys.exit(f"{tool} not found: apt-get install {package}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(path, text, limit):
    """Waits until file `path` contains `text`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            with open(path, "rb") as f:
                if text.encode() in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{path}: no {text!r} within {limit} s")


class Qmp:
    """A minimal QMP client on a Unix socket."""

    def __init__(self, path):
        for _ in range(200):
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise RuntimeError(f"QMP {name}: {msg['error']}")


def qemu_move(kernel, initrd, append, tmp, opts):
    port = free_port()
    base = ["qemu-system-riscv64", "-machine", "virt", "-m", f"{opts.memory}M", "-smp", "1",
            "-display", "none", "-monitor", "none", "-kernel", kernel, "-initrd", initrd,
            "-append", append]
    dst_log, src_log = os.path.join(tmp, "q-dst.log"), os.path.join(tmp, "q-src.log")
    dst_qmp, src_qmp = os.path.join(tmp, "q-dst.qmp"), os.path.join(tmp, "q-src.qmp")
    dst = subprocess.Popen(base + ["-serial", f"file:{dst_log}", "-incoming", f"tcp:127.0.0.1:{port}",
                                   "-qmp", f"unix:{dst_qmp},server,nowait"])
    src = subprocess.Popen(base + ["-serial", f"file:{src_log}", "-qmp", f"unix:{src_qmp},server,nowait"])
    try:
        wait_for(src_log, opts.started, 300)
        q = Qmp(src_qmp)
        if opts.mode == "postcopy":
            caps = [{"capability": "postcopy-ram", "state": True}]
            Qmp(dst_qmp).cmd("migrate-set-capabilities", capabilities=caps)
            q.cmd("migrate-set-capabilities", capabilities=caps)
        q.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
        if opts.mode == "postcopy":
            # As tern does: post-copy after the first round.
            while q.cmd("query-migrate").get("ram", {}).get("dirty-sync-count", 0) < 2:
                time.sleep(0.005)
            q.cmd("migrate-start-postcopy")
        while True:
            st = q.cmd("query-migrate")
            if st.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.02)
        if st["status"] != "completed":
            raise RuntimeError(f"QEMU migration {st['status']}: {st}")
        return st["downtime"], st["total-time"], st["ram"]["transferred"] / 2**20
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def tern_move(tern, kernel, initrd, append, tmp, opts):
    dst_log, src_log = os.path.join(tmp, "t-dst.log"), os.path.join(tmp, "t-src.log")
    sock = os.path.join(tmp, "t-src.sock")
    with open(dst_log, "wb") as d, open(src_log, "wb") as s:
        dst = subprocess.Popen([tern, "receive", "--listen", "tcp:127.0.0.1:0", "--insecure"],
                               stdout=d, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        src = subprocess.Popen([tern, "run", "--machine", "virt", "--memory", str(opts.memory), "--kernel", kernel,
                                "--initrd", initrd, "--append", append, "--migratable",
                                "--api-sock", sock],
                               stdout=s, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(dst_log, "waiting for a VM on ", 60)
        addr = open(dst_log).read().split("waiting for a VM on ")[1].split()[0]
        wait_for(src_log, opts.started, 300)
        out = subprocess.run([tern, "migrate", "--api-sock", sock, f"tcp:{addr}", "--insecure", "--json",
                              "--mode", opts.mode],
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"tern migrate failed: {out.stdout}{out.stderr}")
        st = json.loads(out.stdout[out.stdout.index("{"):])
        return st["downtime_ms"], st["total_ms"], st["bytes_sent"] / 2**20
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory", type=int, default=256, help="guest RAM in MiB")
    ap.add_argument("--workload", choices=("idle", "busy"), default="idle")
    ap.add_argument("--mode", choices=("precopy", "postcopy"), default="precopy")
    args = ap.parse_args()
    args.started = "sleep: start" if args.workload == "idle" else "dirty: start"
    need("qemu-system-riscv64", "qemu-system-misc")
    g = guest_dir()
    tern = tern_binary()
    kernel, initrd = os.path.join(g, "Image"), os.path.join(g, "initramfs.cpio.gz")
    run = "tern.run=/tests/sleep.sh tern.arg=600" if args.workload == "idle" else \
        "tern.run=/tests/dirty.sh tern.arg=20 tern.arg=600"
    append = f"console=ttyS0 {run}"
    best = {}
    with tempfile.TemporaryDirectory(prefix="tern-bench-migrate-") as tmp:
        for _ in range(args.runs):
            for name, move in (("qemu", lambda: qemu_move(kernel, initrd, append, tmp, args)),
                               ("tern", lambda: tern_move(tern, kernel, initrd, append, tmp, args))):
                r = move()
                if name not in best or r[0] < best[name][0]:
                    best[name] = r
    load = os.getloadavg()
    print(f"migration benchmark: {args.workload} Linux guest, {args.memory} MiB, 1 hart, {args.mode}, "
          f"loopback, best of {args.runs} (by downtime), load average {load[0]:.2f}")
    print(f"{'':<8}{'downtime ms':>13}{'total ms':>11}{'MiB sent':>10}")
    for name, (down, total, mib) in best.items():
        print(f"{name:<8}{down:>13.1f}{total:>11.1f}{mib:>10.1f}")
    q, t = best["qemu"], best["tern"]
    down = f"{t[0] / q[0]:.2f}x" if q[0] >= 1 else "n/a (QEMU reports under 1 ms)"
    print(f"ratio tern/qemu: downtime {down}, total {t[1] / q[1]:.2f}x, bytes {t[2] / q[2]:.2f}x")
    print("(QEMU's downtime is its source's stop-and-copy in whole ms; tern's runs from the "
          "harts' stop on the source to the go of the destination)")


if __name__ == "__main__":
    main()
