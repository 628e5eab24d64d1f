"""Writing a folder of files all at once, or not at all."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from ganbench.errors import GanbenchError


class TargetExistsError(GanbenchError):
    """The folder a scaffold would create is already there."""


def check_target_free(target: Path) -> None:
    """Raise :class:`TargetExistsError` if ``target`` exists (as anything)."""
    if target.exists() or target.is_symlink():
        raise TargetExistsError(
            f"{str(target)!r} already exists; new-plugin never overwrites: choose another "
            "name or --dir, or remove it"
        )


def write_tree(target: Path, files: Mapping[str, str]) -> Path:
    """Create the folder ``target`` holding ``files`` ({relative posix path: text}).

    The files are written into a temporary folder next to ``target`` (same
    file system), which is then renamed to ``target``: a failure part-way
    leaves no half-written folder, only nothing.

    Returns:
        ``target`` as an absolute path.

    Raises:
        TargetExistsError: ``target`` exists; nothing is written.
        GanbenchError: the parent folder cannot be created or written.
    """
    target = target.expanduser().absolute()
    check_target_free(target)
    for relative in files:
        path = PurePosixPath(relative)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"file path {relative!r} must stay inside the package folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A plain mkdir, not tempfile.mkdtemp: the folder gets the usual
        # permissions (mkdtemp's are private) without touching the umask.
        staging = target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        raise GanbenchError(f"cannot write into {str(target.parent)!r}: {exc.strerror}") from None
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        # Checked again just before the rename: on POSIX, rename() silently
        # replaces an empty folder that appeared meanwhile.
        check_target_free(target)
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, FileExistsError) or target.exists():
            check_target_free(target)
        raise GanbenchError(f"cannot write {str(target)!r}: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
