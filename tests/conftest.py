"""Shared test set-up: every test runs with its own runs folder and store, and
the whole session shares one cache folder, so the digits evaluator is trained
once per session and never touches the user's real cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("ganbench-cache")
    old = os.environ.get("GANBENCH_CACHE_DIR")
    os.environ["GANBENCH_CACHE_DIR"] = str(cache)
    # Tests must not depend on how many threads a machine has for determinism checks.
    torch.set_num_threads(min(2, torch.get_num_threads()))
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
