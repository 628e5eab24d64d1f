"""Can a command write where it will write? Checked before any work starts.

A run that trains for an hour and then finds its results store read-only has
wasted the hour, so every command checks its output places first and stops
with one line (exit 2) naming the place, the flag that set it and why. The
checks create nothing: a folder that does not exist yet is judged by its
nearest existing ancestor, and write access is tested by opening (not
writing) a file, which also catches what permission bits do not show
(immutable folders, read-only mounts, running as root).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from ganbench.errors import GanbenchError
from ganbench.paths import cache_dir


class PlaceNotWritableError(GanbenchError):
    """A folder or file a command must write to cannot be written."""


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``.`` at worst)."""
    current = path
    while not current.exists():
        if current.parent == current:
            break
        current = current.parent
    return current


def _probe_folder(folder: Path) -> str | None:
    """Why no file can be created in ``folder``, or None if one can (left behind: nothing)."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".ganbench-write-probe-"):
            pass
    except OSError as exc:
        return f"folder {str(folder)!r} is not writable ({_reason(exc)})"
    return None


def folder_problem(path: Path) -> str | None:
    """Why files cannot be written in folder ``path`` (created if missing), or None."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        return f"{str(path)!r} is a file, not a folder"
    existing = _nearest_existing(path.absolute())
    if not existing.is_dir():
        return f"{str(existing)!r} is a file, so the folder {str(path)!r} cannot be made in it"
    return _probe_folder(existing)


def file_problem(path: Path) -> str | None:
    """Why file ``path`` cannot be created or replaced, or None."""
    path = Path(path).expanduser()
    if path.is_dir():
        return f"{str(path)!r} is a folder, not a file"
    if path.exists():
        try:
            # Append mode opens for writing without touching the content.
            with open(path, "ab"):
                pass
        except OSError as exc:
            return f"file {str(path)!r} is not writable ({_reason(exc)})"
    return folder_problem(path.parent)


def check_writable_folder(path: Path, what: str, flag: str) -> None:
    """Raise one line if ``what`` (e.g. "run folders") cannot go into folder ``path``."""
    problem = folder_problem(path)
    if problem is not None:
        raise PlaceNotWritableError(f"cannot write {what} to {str(path)!r} ({flag}): {problem}")


def check_cache_writable() -> None:
    """Raise one line unless the cache (evaluators, reference statistics) can be written."""
    check_writable_folder(cache_dir(), "the cache", "$GANBENCH_CACHE_DIR")


def check_results_store(path: Path, flag: str = "--store") -> None:
    """Raise one line unless ``path`` is a results store ganbench can add runs to.

    A missing file is fine when it can be created; an existing one must be
    writable and an SQLite database (its tables are checked when it is opened).
    """
    path = Path(path).expanduser()
    problem = file_problem(path)
    if problem is None and path.is_file():
        problem = sqlite_problem(path)
    if problem is not None:
        raise PlaceNotWritableError(f"cannot use results store {str(path)!r} ({flag}): {problem}")


def sqlite_problem(path: Path) -> str | None:
    """Why the existing file ``path`` is not an SQLite database, or None."""
    try:
        # mode=ro: reading the header must not create or change anything.
        uri = f"{path.absolute().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=30.0)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not an SQLite database ({exc})"
    return None
