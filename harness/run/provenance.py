"""What produced a result: package versions, the git commit, the time. Read once per process."""

from __future__ import annotations

import datetime as dt
import functools
import socket
import subprocess
import sys
from importlib import metadata

from harness import __version__
from harness.config import project_root

PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "sentence-transformers", "faiss-cpu",
            "ragas", "lm_eval", "pandas", "numpy")


@functools.cache
def package_versions() -> dict[str, str]:
    out = {"harness": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.cache
def git_commit() -> str:
    """The checkout's commit (+ "-dirty"), read once: the code a process runs does not change under it;
    "none" outside a git checkout (an installed package), with nothing printed."""
    root = project_root()
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "none"
    return sha + ("-dirty" if dirty else "")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def node_name() -> str:
    """The machine that computed a row (a Ray worker writes its own, with its node id)."""
    return socket.gethostname()
