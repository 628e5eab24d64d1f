"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every file the core writes (run records, checkpoints' metadata, leaderboards,
plots) goes through these helpers, so a process killed mid-write (Ctrl-C, OOM,
a cluster pre-emption) cannot leave a truncated file that a resume would
then trust.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

#: Temp names are ``.<name>.<32 hex>.tmp``; long target names are shortened
#: so the temp name stays under the usual 255-byte file-name limit.
_MAX_STEM = 180


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders.

    The bytes go to a temp file in the same folder (``os.replace`` is only
    atomic within one file system), are flushed and fsynced, and the temp
    file then replaces ``path``. On any error the temp file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name[:_MAX_STEM]}.{uuid.uuid4().hex}.tmp"
    # os.open with mode 0o666 lets the umask decide the final permissions,
    # as a plain open() would; tempfile.mkstemp would force 0o600.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` atomically; newlines are written as given (no ``\\r\\n`` translation)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(
    path: Path | str, obj: Any, *, indent: int | None = 2, sort_keys: bool = False
) -> None:
    """Write ``obj`` as JSON (UTF-8, trailing newline) atomically.

    NaN and infinities are written as ``NaN``/``Infinity`` (Python's json
    reads them back): a diverged run's last loss is a fact worth keeping.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    atomic_write_text(path, text + "\n")


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows: directories cannot be opened this way.
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
