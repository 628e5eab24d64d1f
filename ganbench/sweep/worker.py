"""What a sweep worker does with one cell: run it, never store it, send the records back.

This module is what an executor's worker processes import, so it imports
neither torch nor the registry at module level: a spawned worker first sets
its thread counts (:func:`init_worker`), then loads them on its first cell.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganbench.run.record import RunRecord
from ganbench.run.request import RunRequest


@dataclass(frozen=True)
class CellTask:
    """One attempt at one cell, as an executor receives it.

    Attributes:
        cell_key: the cell's key (:func:`ganbench.sweep.cells.cell_key`).
        request: the run request.
        attempt: 1 for the first attempt in this sweep, 2 for the first retry...
        resume_dir: an unfinished run folder of this cell to continue with the
            run's own resume machinery, or None for a fresh run.
    """

    cell_key: str
    request: RunRequest
    attempt: int = 1
    resume_dir: str | None = None


@dataclass(frozen=True)
class CellOutcome:
    """What came of one attempt.

    Attributes:
        records: to be stored in order, each in its own transaction (a new
            real-data row, then the run's own record); empty on failure.
        error: one line saying why the attempt failed, or None.
        detail: the traceback's last lines, for the log (failures only).
        seconds: the attempt's wall time.
        how: ``"fresh"``, ``"resumed"`` (from ``resume_dir``) or
            ``"afresh"`` (``resume_dir``'s checkpoints could not be read).
    """

    records: tuple[RunRecord, ...] = ()
    error: str | None = None
    detail: str = ""
    seconds: float = 0.0
    how: str = "fresh"

    @property
    def ok(self) -> bool:
        """Whether the attempt produced a run record."""
        return self.error is None and bool(self.records)


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker process shares: where runs go, the store it reads, its threads."""

    runs_dir: str
    store_path: str
    threads: int
    plugins_dir: str | None = None


_settings: WorkerSettings | None = None
_registry: Any = None


def init_worker(settings: WorkerSettings) -> None:
    """Set up a worker process: thread counts before torch loads, and no Ctrl-C of its own.

    OpenMP and MKL read their environment variables when torch loads, so
    they are set here, first; torch's intra-op pool is set again on the first
    cell. Ctrl-C is the driver's to handle: it stops the workers itself.
    """
    global _settings
    _settings = settings
    os.environ["OMP_NUM_THREADS"] = str(settings.threads)
    os.environ["MKL_NUM_THREADS"] = str(settings.threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _loaded_registry() -> Any:
    global _registry
    if _registry is None:
        import torch

        from ganbench.registry import load_registry

        assert _settings is not None, "init_worker was not called"
        torch.set_num_threads(_settings.threads)
        plugins = None if _settings.plugins_dir is None else Path(_settings.plugins_dir)
        _registry = load_registry(plugins)
    return _registry


def run_cell(task: CellTask) -> CellOutcome:
    """Run ``task`` to its record, without writing the store; failures come back as outcomes.

    A ``resume_dir`` whose checkpoints cannot be read is left where it is and
    the cell starts afresh in a new folder.
    """
    from ganbench.errors import CheckpointError
    from ganbench.run.runner import RunPlaces, execute_run_unstored

    start = time.perf_counter()
    how = "fresh"
    try:
        registry = _loaded_registry()
        assert _settings is not None
        places = RunPlaces(Path(_settings.runs_dir), Path(_settings.store_path))

        def attempt(resume_dir: Path | None) -> tuple[RunRecord, ...]:
            run = execute_run_unstored(
                registry,
                task.request,
                places,
                quiet=True,
                resume_dir=resume_dir,
                cell_key=task.cell_key,
            )
            return tuple(run.records)

        if task.resume_dir is not None:
            try:
                how = "resumed"
                records = attempt(Path(task.resume_dir))
            except CheckpointError:
                how = "afresh"
                records = attempt(None)
        else:
            records = attempt(None)
        return CellOutcome(records=records, seconds=time.perf_counter() - start, how=how)
    except (Exception, SystemExit) as exc:  # a plugin's sys.exit() fails the cell, not the worker
        return CellOutcome(
            error=_one_line(exc),
            detail="".join(traceback.format_exception(exc)[-6:]),
            seconds=time.perf_counter() - start,
            how=how,
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"
