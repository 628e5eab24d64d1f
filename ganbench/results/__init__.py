"""The results store (SQLite) and the atomic file writes every stored file goes through."""

from __future__ import annotations

from ganbench.results.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from ganbench.results.paths import STORE_ENV_VAR, default_store_path
from ganbench.results.store import ResultsStore

__all__ = [
    "STORE_ENV_VAR",
    "ResultsStore",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "default_store_path",
]
