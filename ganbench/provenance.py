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


def versions() -> dict[str, str | None]:
    """ganbench version and git sha, torch version."""
    return {
        "ganbench_version": ganbench.__version__,
        "git_sha": git_sha(),
        "torch_version": torch.__version__,
    }
