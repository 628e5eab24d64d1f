"""The sweep driver: which cells are left, running them on an executor, storing what comes back.

The driver is the only process that writes the results store. Each run
record a worker sends back is added in its own transaction, which also marks
the cell done (``sweep_cells``); so a sweep that is killed loses at most the
cells that were running, and started again it goes on from the store:

- a cell the store marks ``completed`` or ``diverged`` is skipped;
- a cell with a finished run folder the store lacks (``record.json`` with its
  key: the driver died before storing it) is stored from that folder, not run;
- a cell with an unfinished run folder (``config.json`` with its key, no
  ``record.json``: killed mid-run) continues there through ``ganbench run
  --resume``'s machinery, from its last checkpoint (or from step 0 when it
  was killed before the first), so it ends with the numbers an uninterrupted
  run reaches; a folder whose checkpoints cannot be read is left as it is and
  the cell starts afresh;
- any other cell runs afresh, and so does a cell marked ``failed`` by an
  earlier sweep (its newest unfinished folder, if any, is resumed as above).

An attempt that fails (an exception in the run, a worker that died) is tried
again up to ``retries`` times; then the cell is marked ``failed`` with its
last error, and the sweep goes on with the other cells.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganbench.results.store import ResultsStore, SweepCell
from ganbench.run.record import RunRecord
from ganbench.run.request import CONFIG_FILE, RECORD_FILE
from ganbench.sweep.cells import Cell
from ganbench.sweep.executors import Executor
from ganbench.sweep.worker import CellOutcome, CellTask


@dataclass(frozen=True)
class CellFolders:
    """A cell's run folders under the runs folder.

    Attributes:
        finished: a folder whose ``record.json`` holds the cell's finished run.
        unfinished: the newest folder of the cell without a record.
    """

    finished: Path | None = None
    unfinished: Path | None = None


@dataclass
class SweepPlan:
    """What a sweep finds before running anything.

    Attributes:
        cells: every cell, in file order.
        stored: key -> the store's row for cells marked done or failed.
        folders: key -> the cell's run folders, for cells not done.
    """

    cells: list[Cell]
    stored: dict[str, SweepCell] = field(default_factory=dict)
    folders: dict[str, CellFolders] = field(default_factory=dict)

    def is_done(self, cell: Cell) -> bool:
        """Whether the store already holds a run that fills ``cell``."""
        row = self.stored.get(cell.key)
        return row is not None and row.done

    @property
    def left(self) -> list[Cell]:
        """The cells still to run (or to store from their folders)."""
        return [cell for cell in self.cells if not self.is_done(cell)]


@dataclass
class CellResult:
    """What a sweep did with one cell.

    Attributes:
        cell: the cell.
        status: ``completed``, ``diverged`` or ``failed``.
        how: ``stored before`` (skipped), ``from its folder`` (stored, not
            run), ``fresh``, ``resumed`` or ``afresh`` (see the worker).
        record: the run that fills it (None when failed).
        attempts: attempts this sweep made (0 for a skipped cell).
        seconds: the run's wall time (the stored run's, for a skipped cell).
        error: the last attempt's error, for a failed cell.
    """

    cell: Cell
    status: str
    how: str
    record: RunRecord | None = None
    attempts: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class SweepCounts:
    """Progress of a running sweep, for the display."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0

    @property
    def left(self) -> int:
        """Cells neither finished nor failed yet (the running ones included)."""
        return self.total - self.skipped - self.done - self.failed


def find_cell_folders(runs_dir: Path, keys: Iterable[str]) -> dict[str, CellFolders]:
    """The run folders under ``runs_dir`` whose ``config.json`` names one of ``keys``."""
    wanted = set(keys)
    finished: dict[str, Path] = {}
    unfinished: dict[str, list[tuple[float, Path]]] = {}
    if not wanted or not runs_dir.is_dir():
        return {}
    for folder in runs_dir.iterdir():
        config = folder / CONFIG_FILE
        try:
            key = json.loads(config.read_text()).get("cell_key")
        except (OSError, ValueError, AttributeError):
            continue  # not a run folder, or not a sweep's
        if key not in wanted:
            continue
        record = _finished_record(folder, key)
        if record is not None:
            finished.setdefault(key, folder)
        else:
            unfinished.setdefault(key, []).append((config.stat().st_mtime, folder))
    result = {}
    for key in wanted:
        newest = max(unfinished.get(key, []), default=(0.0, None))[1]
        if key in finished or newest is not None:
            result[key] = CellFolders(finished.get(key), newest)
    return result


def _finished_record(folder: Path, key: str) -> RunRecord | None:
    """The finished run record in ``folder`` for cell ``key``, or None."""
    try:
        record = RunRecord.from_dict(json.loads((folder / RECORD_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if record.cell_key != key or record.status not in ("completed", "diverged"):
        return None
    return record


def plan_sweep(cells: Sequence[Cell], store: ResultsStore, runs_dir: Path) -> SweepPlan:
    """Which of ``cells`` the store holds, and which have run folders to store or resume."""
    known = store.sweep_cells()
    plan = SweepPlan(list(cells), {c.key: known[c.key] for c in cells if c.key in known})
    plan.folders = find_cell_folders(runs_dir, [c.key for c in plan.left])
    return plan


def run_sweep(
    plan: SweepPlan,
    store: ResultsStore,
    executor: Executor,
    runs_dir: Path,
    retries: int = 2,
    on_progress: Callable[[SweepCounts, CellResult | None], None] | None = None,
) -> list[CellResult]:
    """Fill every cell of ``plan`` not yet done; one result per cell, in file order.

    ``on_progress(counts, result)`` is called when the sweep starts (result
    None) and after each cell finishes or fails for good.
    """
    counts = SweepCounts(total=len(plan.cells))
    results: dict[str, CellResult] = {}
    for cell in plan.cells:
        if plan.is_done(cell):
            results[cell.key] = _skipped(cell, plan.stored[cell.key], store)
            counts.skipped += 1
    by_key = {cell.key: cell for cell in plan.cells}

    def report(result: CellResult | None) -> None:
        counts.running = executor.running
        if on_progress is not None:
            on_progress(counts, result)

    report(None)
    for cell in plan.left:
        folders = plan.folders.get(cell.key, CellFolders())
        if folders.finished is not None:
            record = _finished_record(folders.finished, cell.key)
            if record is not None:
                store.add(record, cell_attempts=0)
                results[cell.key] = _result(cell, record, "from its folder", 0)
                counts.done += 1
                report(results[cell.key])
                continue
        resume = None if folders.unfinished is None else str(folders.unfinished)
        executor.submit(CellTask(cell.key, cell.request, attempt=1, resume_dir=resume))
    for task, outcome in executor.completed():
        cell = by_key[task.cell_key]
        if outcome.ok:
            _store_outcome(store, outcome, task.attempt)
            result = _result(cell, outcome.records[-1], outcome.how, task.attempt)
            counts.done += 1
        elif task.attempt <= retries:
            # Tried again afresh or, if the failed attempt left a folder with
            # checkpoints, from there (the same rule as a new sweep's).
            folder = find_cell_folders(runs_dir, [cell.key]).get(cell.key, CellFolders())
            resume = None if folder.unfinished is None else str(folder.unfinished)
            executor.submit(CellTask(cell.key, cell.request, task.attempt + 1, resume))
            report(None)
            continue
        else:
            error = outcome.error or "no run record came back"
            store.record_cell_failure(cell.key, error, task.attempt)
            result = CellResult(
                cell, "failed", outcome.how, None, task.attempt, outcome.seconds, error
            )
            counts.failed += 1
        results[cell.key] = result
        report(result)
    return [results[cell.key] for cell in plan.cells]


def _store_outcome(store: ResultsStore, outcome: CellOutcome, attempts: int) -> None:
    """Each record in its own transaction; a real-data row only if the store still lacks it.

    Two workers may each have scored the same dataset's real data before
    either row was stored; the first one stored stays.
    """
    *extra, record = outcome.records
    for row in extra:
        if store.get(row.run_id) is None:
            store.add(row)
    store.add(record, cell_attempts=attempts)


def _result(cell: Cell, record: RunRecord, how: str, attempts: int) -> CellResult:
    return CellResult(cell, record.status, how, record, attempts, record.wall_time_s)


def _skipped(cell: Cell, row: SweepCell, store: ResultsStore) -> CellResult:
    record = None if row.run_id is None else store.get(row.run_id)
    seconds = 0.0 if record is None else record.wall_time_s
    return CellResult(cell, row.status, "stored before", record, 0, seconds)
