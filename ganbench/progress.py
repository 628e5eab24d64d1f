"""Progress display for long work: a rich bar on stderr, or nothing (``--quiet``)."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TrainingProgress:
    """Step counter, losses and steps per second for the train loop.

    Updates are cheap (the bar redraws on its own thread a few times a
    second), so the loop may call :meth:`update` every step.
    """

    def __init__(
        self, total: int, description: str, *, quiet: bool, console: Console | None = None
    ):
        self.quiet = quiet
        self.total = total
        self._progress: Progress | None = None
        self._task = None
        self._start = time.perf_counter()
        self._start_step = 0
        if not quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[losses]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                refresh_per_second=4,
            )
            self._task = self._progress.add_task(description, total=total, losses="", rate="")

    def __enter__(self) -> TrainingProgress:
        if self._progress is not None:
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

    def start_at(self, step: int) -> None:
        """Mark where a (resumed) run starts, for the rate."""
        self._start = time.perf_counter()
        self._start_step = step
        if self._progress is not None:
            self._progress.update(self._task, completed=step)

    def update(self, step: int, losses: dict[str, float], every: int = 10) -> None:
        """Show progress after ``step`` steps; text fields refresh every ``every`` steps."""
        if self._progress is None:
            return
        if step % every == 0 or step == self.total:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            rate = (step - self._start_step) / elapsed
            text = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
            self._progress.update(self._task, completed=step, losses=text, rate=f"{rate:.1f} it/s")
        else:
            self._progress.update(self._task, completed=step)

    def note(self, message: str) -> None:
        """Print a line above the bar (e.g. a validation result)."""
        if self._progress is not None:
            self._progress.console.print(message)
