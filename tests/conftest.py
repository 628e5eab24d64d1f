"""Shared test set-up: every test runs with its own runs folder and store, and
each test process (one per pytest-xdist worker) shares one cache folder, so
what the cache holds is built once per worker and never touches the user's
real cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


def _threads_per_process() -> int:
    """Intra-op threads for this test process (at most 2).

    Under pytest-xdist (``-n``) the cores are shared out between the workers,
    and ``ganbench`` subprocesses the tests start inherit the same count
    through ``OMP_NUM_THREADS``: more threads than cores makes every worker
    several times slower rather than faster.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    threads = max(1, min(2, (os.cpu_count() or 1) // workers))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    return min(threads, torch.get_num_threads())


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("ganbench-cache")
    old = os.environ.get("GANBENCH_CACHE_DIR")
    os.environ["GANBENCH_CACHE_DIR"] = str(cache)
    # Tests must not depend on how many threads a machine has for determinism checks.
    torch.set_num_threads(_threads_per_process())
    yield cache
    if old is None:
        os.environ.pop("GANBENCH_CACHE_DIR", None)
    else:
        os.environ["GANBENCH_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("GANBENCH_STORE", str(tmp_path / "runs" / "results.sqlite"))
    monkeypatch.delenv("GANBENCH_PLUGINS_DIR", raising=False)
    monkeypatch.delenv("GANBENCH_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GANBENCH_DISABLE_PLUGINS", raising=False)
    # Output is checked as a log sees it. pytest-xdist workers are given
    # COLUMNS=80, which would wrap what a plain pytest run prints whole; a
    # test about an explicit width sets COLUMNS itself.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
