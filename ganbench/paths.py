"""Default places on disk: the user cache, runs and the results store."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Folder for cached evaluators and statistics.

    ``$GANBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/ganbench``, else
    ``~/.cache/ganbench``.
    """
    if os.environ.get("GANBENCH_CACHE_DIR"):
        return Path(os.environ["GANBENCH_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ganbench"


def runs_dir() -> Path:
    """Folder for run folders: ``$GANBENCH_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("GANBENCH_RUNS_DIR", "runs"))


def data_dir() -> Path:
    """Default folder for dataset files: ``$GANBENCH_DATA_DIR`` or the cache's ``data``."""
    if os.environ.get("GANBENCH_DATA_DIR"):
        return Path(os.environ["GANBENCH_DATA_DIR"])
    return cache_dir() / "data"
