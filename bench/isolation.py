#!/usr/bin/env python3
"""Performance isolation between slices of a node manager (issue 13).

Starts `tern node serve` pinned to one host CPU (`taskset -c CPU`; the VMs it
starts inherit the pinning), so that the CPU-bound guests of two slices
(`guests/linux-user/slice_load.c spin`, each a process VM) share that one CPU. Each
guest's throughput is its instructions retired per second, read twice from its
control API (`GET /status`) a measuring window apart. Scenarios:

  alone     one slice, one guest: the reference throughput
  equal     two slices, cpu.weight 100 and 100: expect 50 % / 50 % of alone
  2:1       cpu.weight 200 and 100:             expect 67 % / 33 %
  cap 25%   one slice with cpu.max 25 %:         expect 25 %

For each guest it prints three figures:

  share    its throughput against the guest running alone (the issue's measure; on
           a quiet machine the only one needed)
  cpu      its CPU time over the window's wall time (utime + stime of its process)
  split    its part of the two guests' total throughput

On a shared machine other processes take part of the CPU from every scenario,
alone included, so the checks use the figures that such load does not skew: the
split for the weights (50/50, 67/33) and the CPU time for the cap (25 %). Exits 1 if
one is more than --tolerance points (default 5) off. Run as root on a host with
cgroups (v2, or the v1 hierarchies of a hybrid host).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import ROOT, tern_binary


def need(tool, package):
    if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
        sys.exit(f"{tool} not found: apt-get install {package}")


def request(sock, method, path, body=None):
    """One HTTP request over a Unix socket; returns (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: node\r\nConnection: close\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    head += f"Content-Length: {len(data)}\r\n\r\n"
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(sock)
        s.sendall(head.encode() + data)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    header, _, payload = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ")[1])
    return status, (json.loads(payload) if payload.strip() else None)


def checked(sock, method, path, body=None):
    status, answer = request(sock, method, path, body)
    if status >= 300:
        sys.exit(f"{method} {path}: HTTP {status}: {answer}")
    return answer


def build_guest(out_dir):
    need("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu")
    src = os.path.join(ROOT, "guests/linux-user/slice_load.c")
    out = os.path.join(out_dir, "slice_load")
    subprocess.run(["riscv64-linux-gnu-gcc", "-O2", "-static", "-o", out, src], check=True)
    return out


def instructions(vm_sock):
    status, answer = request(vm_sock, "GET", "/status")
    if status != 200:
        raise RuntimeError(f"VM status: HTTP {status}")
    return answer["instructions_retired"]


def wait_api(vm_sock, limit=20.0):
    deadline = time.monotonic() + limit
    while True:
        try:
            return instructions(vm_sock)
        except (OSError, RuntimeError, IndexError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def scenario(node, guest, slices, warmup, window):
    """Creates the slices (name -> spec), starts one spinning guest in each, and
    returns, per slice, the guest's instructions per second and CPU fraction over
    the window."""
    vms = {}
    for name, spec in slices.items():
        spec = dict(spec, memory_mib=128, lifetime_s=600)
        checked(node, "POST", "/slices", {"name": name, "spec": spec})
        vm = checked(node, "POST", f"/slices/{name}/vms",
                     {"kind": "exec", "args": [guest, "spin"], "memory_mib": 64})
        vms[name] = (vm["api_sock"], vm["pid"])
    try:
        for sock, _ in vms.values():
            wait_api(sock)
        time.sleep(warmup)
        first = {n: (instructions(s), cpu_seconds(p), time.monotonic())
                 for n, (s, p) in vms.items()}
        time.sleep(window)
        rates = {}
        for n, (s, p) in vms.items():
            i0, c0, t0 = first[n]
            i1, c1, t1 = instructions(s), cpu_seconds(p), time.monotonic()
            rates[n] = ((i1 - i0) / (t1 - t0), (c1 - c0) / (t1 - t0))
        return rates
    finally:
        for name in slices:
            request(node, "DELETE", f"/slices/{name}")


def info_groups(info):
    """The node's cgroup group directories, from GET /node's description."""
    _, _, dirs = info["cgroups"].partition(" at ")
    return [d.strip() for d in dirs.split(",") if d.strip()]


def remove_group(dirs):
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError as e:
            print(f"cannot remove {d}: {e}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", type=int, default=0, help="the host CPU the guests share")
    ap.add_argument("--window", type=float, default=5.0, help="measuring window, seconds")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    ap.add_argument("--tolerance", type=float, default=5.0, help="allowed error, points")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/isolation.py needs root: the node manager writes cgroups")
    need("taskset", "util-linux")
    tern = tern_binary()
    with tempfile.TemporaryDirectory(prefix="tern-iso", dir="/tmp") as tmp:
        guest = build_guest(tmp)
        sock = os.path.join(tmp, "node.sock")
        log = open(os.path.join(tmp, "node.log"), "w")
        daemon = subprocess.Popen(
            ["taskset", "-c", str(args.cpu), tern, "node", "serve",
             "--state-dir", os.path.join(tmp, "state"), "--api-sock", sock,
             "--cgroup-name", f"tern-bench-{os.getpid()}", "--memory", "2G", "--disk", "64G"],
            stdout=log, stderr=log)
        info = {"cgroups": ""}
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    info = checked(sock, "GET", "/node")
                    break
                except OSError:
                    if daemon.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        sys.exit("tern node serve did not start:\n"
                                 + open(os.path.join(tmp, "node.log")).read())
                    time.sleep(0.05)
            print(f"node: {info['cgroups']}; guests pinned to CPU {args.cpu}; "
                  f"window {args.window:g} s")
            alone, alone_cpu = scenario(sock, guest, {"alone": {}}, args.warmup,
                                        args.window)["alone"]
            print(f"{'scenario':<10} {'slice':<7} {'Minsn/s':>8} {'share':>6} {'cpu':>6} "
                  f"{'split':>6} {'expected':>8}")
            print(f"{'alone':<10} {'alone':<7} {alone / 1e6:>8.1f} {100.0:>5.1f}% "
                  f"{100 * alone_cpu:>5.1f}% {100.0:>5.1f}% {100.0:>7.1f}%")
            runs = [
                ("equal", {"a": {"cpu_weight": 100}, "b": {"cpu_weight": 100}},
                 {"a": 50.0, "b": 50.0}, "split"),
                ("2:1", {"a": {"cpu_weight": 200}, "b": {"cpu_weight": 100}},
                 {"a": 200 / 3, "b": 100 / 3}, "split"),
                ("cap 25%", {"capped": {"cpu_max_percent": 25}}, {"capped": 25.0}, "cpu"),
            ]
            failed = False
            for title, slices, expected, judged in runs:
                rates = scenario(sock, guest, slices, args.warmup, args.window)
                total = sum(r for r, _ in rates.values())
                for name, (rate, cpu) in rates.items():
                    figures = {"share": 100.0 * rate / alone, "cpu": 100.0 * cpu,
                               "split": 100.0 * rate / total}
                    off = abs(figures[judged] - expected[name])
                    mark = "" if off <= args.tolerance else f"  OFF ({judged})"
                    failed |= off > args.tolerance
                    print(f"{title:<10} {name:<7} {rate / 1e6:>8.1f} {figures['share']:>5.1f}% "
                          f"{figures['cpu']:>5.1f}% {figures['split']:>5.1f}% "
                          f"{expected[name]:>7.1f}%{mark}")
            sys.exit(1 if failed else 0)
        finally:
            daemon.kill()
            daemon.wait()
            remove_group(info_groups(info))


if __name__ == "__main__":
    main()
