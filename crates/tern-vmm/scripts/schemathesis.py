#!/usr/bin/env python3
"""Fuzz the control API against its own OpenAPI document with schemathesis.

A manual step, not part of `cargo test` (it needs schemathesis from PyPI):

    pip install schemathesis            # or: python3 -m venv v && v/bin/pip install ...
    cargo build -p tern-vmm --features fake --example fake_vm
    python3 crates/tern-vmm/scripts/schemathesis.py [--max-time SECONDS]

It serves the fake counter VM (snapshots confined to a temporary directory, still
serving after PUT /stop), forwards a loopback TCP port to its Unix socket because
schemathesis speaks TCP only, runs every schemathesis check but positive_data_acceptance (see below), and exits with
schemathesis' status. It fails, rather than skips, when schemathesis is missing.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def forward(listener, sock_path):
    """Accepts loopback TCP connections and joins each to a new Unix connection."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(sock_path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-time", type=int, default=60, help="schemathesis time budget in seconds")
    ap.add_argument("--schemathesis", default=shutil.which("schemathesis") or shutil.which("st"))
    args = ap.parse_args()
    if not args.schemathesis:
        sys.exit("schemathesis.py: schemathesis is not installed (pip install schemathesis)")
    fake = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "examples", "fake_vm")
    if not os.path.exists(fake):
        sys.exit(f"schemathesis.py: {fake} missing: cargo build -p tern-vmm --features fake --example fake_vm")

    with tempfile.TemporaryDirectory() as tmp:
        sock_path = os.path.join(tmp, "vm.sock")
        vm = subprocess.Popen([fake, sock_path, tmp, "--keep-serving"])
        try:
            deadline = time.time() + 10
            while not os.path.exists(sock_path):
                if time.time() > deadline or vm.poll() is not None:
                    sys.exit("schemathesis.py: fake_vm did not start")
                time.sleep(0.05)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            port = listener.getsockname()[1]
            threading.Thread(target=forward, args=(listener, sock_path), daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            cmd = [
                args.schemathesis, "run", f"{base}/openapi.json", "--url", base,
                "--checks", "all", "--max-time", str(args.max_time), "--workers", "1",
                # A schema-valid path can still be refused with 400 (a directory name, a
                # NUL byte, here: outside the confined directory); JSON Schema cannot say
                # "a file the VM may write", so this one check does not apply.
                "--exclude-checks", "positive_data_acceptance",
            ]
            print("+", " ".join(cmd), flush=True)
            # schemathesis keeps a cache directory in its working directory.
            status = subprocess.call(cmd, cwd=tmp)
            listener.close()
        finally:
            vm.terminate()
            vm.wait()
    sys.exit(status)


if __name__ == "__main__":
    main()
