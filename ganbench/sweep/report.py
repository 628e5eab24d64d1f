"""What a sweep shows: a progress bar over its cells, the dry-run list, the summary table.

Progress goes to stderr: on a terminal a rich bar (done, running, failed,
left, time left, estimated from the cells finished so far in this sweep);
elsewhere (a log, a pipe) one plain line per finished cell. The summary
table goes to stdout, one row per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ganbench.console import make_console
from ganbench.sweep.driver import CellResult, SweepCounts, SweepPlan


class SweepProgress:
    """The sweep's progress display (nothing when ``quiet``); pass :meth:`update` to the driver."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or make_console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> SweepProgress:
        if not self.quiet and self.console.is_terminal:
            self._progress = Progress(
                TextColumn("sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, counts: SweepCounts, result: CellResult | None) -> None:
        """Redraw with ``counts``; a finished ``result`` gets a plain line off a terminal."""
        if self.quiet:
            return
        text = describe_counts(counts)
        if self._progress is not None:
            # The bar covers the cells this sweep runs: skipped ones would
            # make the time-left estimate think cells take no time.
            to_run = counts.total - counts.skipped
            if self._task is None:
                self._task = self._progress.add_task(text, total=to_run)
            self._progress.update(
                self._task, completed=counts.done + counts.failed, description=text
            )
        elif result is not None:
            self.console.print(f"{escape(result_line(result))} ({escape(text)})")
        elif counts.skipped and not (counts.done or counts.failed or counts.running):
            self.console.print(f"{counts.skipped} of {counts.total} cells already in the store")


def describe_counts(counts: SweepCounts) -> str:
    """``3 done, 2 running, 1 failed, 4 left (5 stored before)``."""
    text = (
        f"{counts.done} done, {counts.running} running, {counts.failed} failed, {counts.left} left"
    )
    return text + (f" ({counts.skipped} stored before)" if counts.skipped else "")


def primary_value(result: CellResult) -> str:
    """``coverage[identity]=0.8125``, or ``-`` without a primary metric value."""
    record = result.record
    if record is None or record.primary_metric not in record.metrics:
        return "-"
    return f"{record.primary_metric}={record.metrics[record.primary_metric]:.4g}"


def result_line(result: CellResult) -> str:
    """One finished cell, as a log line."""
    tail = result.error if result.status == "failed" else primary_value(result)
    return f"{result.cell.key} {result.cell.label}: {result.status} ({result.how}), {tail}"


def summary_table(results: Sequence[CellResult]) -> Table:
    """One row per cell: what it is, its status, how, seconds, the primary metric, the run."""
    table = Table(title="sweep")
    for name in ("cell", "model", "dataset", "tricks", "seed", "steps", "batch", "status", "how"):
        table.add_column(name)
    table.add_column("s", justify="right")
    table.add_column("primary metric")
    table.add_column("run")
    for result in results:
        request = result.cell.request
        status = result.status
        if status == "failed":
            status = f"[red]failed[/red] ({result.attempts} attempts)"
        table.add_row(
            result.cell.key,
            escape(request.model),
            escape(request.dataset),
            escape("+".join(request.tricks) or "-"),
            str(request.seed),
            str(request.steps),
            str(request.batch_size),
            status,
            result.how,
            f"{result.seconds:.1f}",
            escape(primary_value(result)),
            escape(result.record.run_id) if result.record is not None else "-",
        )
    return table


def summary_line(results: Sequence[CellResult]) -> str:
    """``12 cells: 10 completed, 1 diverged, 1 failed; 4 of them stored before``."""
    statuses = [r.status for r in results]
    before = sum(r.how == "stored before" for r in results)
    parts = [f"{statuses.count(s)} {s}" for s in ("completed", "diverged", "failed")]
    return f"{len(results)} cells: {', '.join(parts)}; {before} of them stored before this sweep"


def dry_run_table(plan: SweepPlan) -> Table:
    """Every cell and what a sweep would do with it."""
    table = Table(title="sweep (dry run)")
    for name in ("cell", "model", "dataset", "tricks", "seed", "steps", "batch", "state"):
        table.add_column(name)
    for cell in plan.cells:
        request = cell.request
        stored = plan.stored.get(cell.key)
        folders = plan.folders.get(cell.key)
        if stored is not None and stored.done:
            state = f"done ({stored.status}, run {stored.run_id})"
        elif folders is not None and folders.finished is not None:
            state = f"finished in {folders.finished}: to store"
        elif folders is not None and folders.unfinished is not None:
            state = f"to resume from {folders.unfinished}"
        elif stored is not None:
            state = f"to retry (failed after {stored.attempts} attempts: {stored.error})"
        else:
            state = "to run"
        table.add_row(
            cell.key,
            escape(request.model),
            escape(request.dataset),
            escape("+".join(request.tricks) or "-"),
            str(request.seed),
            str(request.steps),
            str(request.batch_size),
            escape(state),
        )
    return table
