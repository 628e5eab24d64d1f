"""Pytest fixtures for plugin test suites.

Enable them in a plugin's ``conftest.py``::

    pytest_plugins = ["ganbench.testing.fixtures"]

* ``ganbench_registry``: every plugin loaded once per session (a
  :class:`ganbench.registry.Registry`), to pass to the ``check_*`` functions.
* ``ganbench_sandbox``: for one test, ganbench writes its cache, runs and
  results store under temporary folders instead of the user's (the cache
  folder is shared by the session, so a domain evaluator trains once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ganbench.paths import data_dir
from ganbench.registry import Registry, load_registry


@dataclass(frozen=True)
class Sandbox:
    """Where ganbench writes during one test.

    Attributes:
        cache_dir: ``$GANBENCH_CACHE_DIR`` (evaluators, reference statistics).
        runs_dir: ``$GANBENCH_RUNS_DIR`` (run folders).
        store: ``$GANBENCH_STORE`` (the results store, not yet created).
    """

    cache_dir: Path
    runs_dir: Path
    store: Path


@pytest.fixture(scope="session")
def ganbench_registry() -> Registry:
    """All installed plugins (and ``$GANBENCH_PLUGINS_DIR``), loaded once per session."""
    return load_registry()


@pytest.fixture(scope="session")
def _ganbench_session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ganbench-cache")


@pytest.fixture
def ganbench_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _ganbench_session_cache: Path
) -> Iterator[Sandbox]:
    """Point ``GANBENCH_CACHE_DIR``, ``GANBENCH_RUNS_DIR`` and ``GANBENCH_STORE`` at tmp folders.

    Dataset files are still read from where they were (``GANBENCH_DATA_DIR``
    is pinned to the current data folder), so data on disk stays usable.
    """
    if not os.environ.get("GANBENCH_DATA_DIR"):
        monkeypatch.setenv("GANBENCH_DATA_DIR", str(data_dir()))
    sandbox = Sandbox(
        cache_dir=_ganbench_session_cache,
        runs_dir=tmp_path / "ganbench-runs",
        store=tmp_path / "ganbench-runs" / "results.sqlite",
    )
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(sandbox.cache_dir))
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(sandbox.runs_dir))
    monkeypatch.setenv("GANBENCH_STORE", str(sandbox.store))
    yield sandbox
