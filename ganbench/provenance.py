"""Where a number came from: package versions, git commit, threads and numeric libraries."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_info

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


@functools.lru_cache(maxsize=1)
def torch_build() -> dict[str, str | None]:
    """The parts of torch's build that change floating-point results on one machine.

    The BLAS and LAPACK torch was built against, its parallel backend, and the
    CUDA version it was built for (None for a CPU-only build).
    """
    config = torch.__config__.show()
    parallel = torch.__config__.parallel_info()

    def setting(pattern: str, text: str) -> str | None:
        found = re.search(pattern, text)
        return found.group(1) if found else None

    return {
        "blas": setting(r"BLAS_INFO=(\w+)", config),
        "lapack": setting(r"LAPACK_INFO=(\w+)", config),
        "parallel_backend": setting(r"ATen parallel backend: (\S+)", parallel),
        "cuda": torch.version.cuda,
    }


def thread_counts() -> dict[str, Any]:
    """Threads in use now: torch's intra- and inter-op pools and numpy's BLAS pools.

    Recorded because they change results: a CPU run with one thread and the
    same run with two sum in different orders, so the same seed gives other
    (equally valid) numbers.
    """
    return {
        "torch": torch.get_num_threads(),
        "torch_interop": torch.get_num_interop_threads(),
        "numpy_blas": sorted(
            {f"{pool['internal_api']}:{pool['num_threads']}" for pool in threadpool_info()}
        ),
    }


def versions() -> dict[str, Any]:
    """Where the code came from and what ran it.

    ganbench version, git sha and whether the checkout had local changes,
    torch version and build (:func:`torch_build`), and the thread counts in
    use (:func:`thread_counts`).
    """
    return {
        "ganbench_version": ganbench.__version__,
        "git_sha": git_sha(),
        "git_dirty": git_dirty(),
        "torch_version": torch.__version__,
        "torch_build": torch_build(),
        "threads": thread_counts(),
    }
