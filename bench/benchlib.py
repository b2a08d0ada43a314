"""What the Python benchmarks share: the guest images and the tern binary."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def guest_dir():
    """Builds the guest images if needed (`cargo xtask guest`); returns their directory."""
    out = subprocess.run(["cargo", "xtask", "guest"], cwd=ROOT, check=True,
                         stdout=subprocess.PIPE).stdout.decode().strip()
    return out.splitlines()[-1]


def tern_binary():
    """$TERN, or target/release/tern built first."""
    path = os.environ.get("TERN", os.path.join(ROOT, "target/release/tern"))
    if "TERN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "tern"], cwd=ROOT, check=True)
    return path
