"""Where a number came from: package versions, git commit, device."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import torch

import ganbench


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """The commit ganbench runs from, when it runs from a git checkout."""
    package_dir = Path(ganbench.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(package_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None


@functools.lru_cache(maxsize=1)
def git_dirty() -> bool | None:
    """Whether tracked files differ from the commit (None outside a checkout)."""
    if git_sha() is None:
        return None
    package_dir = Path(ganbench.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(package_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def versions() -> dict[str, str | bool | None]:
    """ganbench version, git sha and whether the checkout had local changes, torch version."""
    return {
        "ganbench_version": ganbench.__version__,
        "git_sha": git_sha(),
        "git_dirty": git_dirty(),
        "torch_version": torch.__version__,
    }
