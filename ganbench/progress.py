"""Progress displays for long work, on stderr, or nothing (``--quiet``).

On a terminal they are rich bars that redraw in place. Anywhere else (a CI
log, a pipe, a file) a redrawn bar would arrive once, at the very end, as a
line cut to the console width; there the same displays print a few plain
lines instead: where the work starts, one line per tenth of it, where it ends.
"""

from __future__ import annotations

import math
import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ganbench.console import make_console

#: Plain progress lines per phase of work on a non-terminal (one per tenth).
PLAIN_LINES = 10

#: Consoles of the rich displays running now, innermost last. Rich draws
#: nested live displays together only when they share one console, so a bar
#: started inside another (Inception's feature bar inside an evaluation)
#: takes its console from here.
_live_consoles: list[Console] = []


def progress_console() -> Console:
    """The stderr console of the rich display running now, else a new stderr console."""
    return _live_consoles[-1] if _live_consoles else make_console(stderr=True)


class PlainProgressLines:
    """When to print a plain progress line: at each tenth of ``total`` units, and at the end."""

    def __init__(self, total: int, lines: int = PLAIN_LINES) -> None:
        self.total = total
        self._every = max(1, math.ceil(total / lines))
        self._next = self._every

    def due(self, done: int) -> bool:
        """Whether ``done`` units reach the next mark; if so, the mark moves on."""
        if done < self._next:
            return False
        if done >= self.total:
            self._next = math.inf  # the last line is printed once
        else:
            self._next = min((done // self._every + 1) * self._every, self.total)
        return True


class TrainingProgress:
    """Step counter, losses and steps per second for the train loop.

    Updates are cheap (the bar redraws on its own thread a few times a
    second; off a terminal, a line is formatted only at each tenth of the
    steps), so the loop may call :meth:`update` every step.
    """

    def __init__(
        self,
        total: int,
        description: str,
        *,
        quiet: bool,
        console: Console | None = None,
        unit: str = "steps",
    ):
        self.quiet = quiet
        self.total = total
        self.description = description
        self.unit = unit
        self._console: Console | None = None
        self._progress: Progress | None = None
        self._lines: PlainProgressLines | None = None
        self._task = None
        self._start = time.perf_counter()
        self._start_step = 0
        self._step = 0
        if quiet:
            return
        self._console = console or progress_console()
        if not self._console.is_terminal:
            self._lines = PlainProgressLines(total)
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            refresh_per_second=4,
        )
        self._task = self._progress.add_task(escape(description), total=total, losses="", rate="")

    def __enter__(self) -> TrainingProgress:
        if self._progress is not None:
            self._progress.start()
            _live_consoles.append(self._progress.console)
        elif self._lines is not None:
            self._plain(f"{self.total} {self.unit}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            _live_consoles.remove(self._progress.console)
            self._progress.stop()
        elif self._lines is not None and self._step < self.total:
            # Stopped early (divergence, Ctrl-C): say where, since no 100% line came.
            self._plain(f"stopped at {self._step}/{self.total} {self.unit}")

    def start_at(self, step: int) -> None:
        """Mark where a (resumed) run starts, for the rate."""
        self._start = time.perf_counter()
        self._start_step = step
        self._step = step
        if self._progress is not None:
            self._progress.update(self._task, completed=step)
        elif self._lines is not None and step > 0:
            self._lines.due(step)  # no lines for the steps done before the resume
            self._plain(f"resumed at {step}/{self.total} {self.unit}")

    def update(self, step: int, losses: dict[str, float], every: int = 10) -> None:
        """Show progress after ``step`` steps; text fields refresh every ``every`` steps."""
        self._step = step
        if self._progress is not None:
            if step % every == 0 or step == self.total:
                self._progress.update(
                    self._task, completed=step, losses=self._losses(losses), rate=self._rate(step)
                )
            else:
                self._progress.update(self._task, completed=step)
        elif self._lines is not None and self._lines.due(step):
            fields = [f"{step}/{self.total} {self.unit}", self._losses(losses), self._rate(step)]
            fields.append(f"{time.perf_counter() - self._start:.1f} s")
            self._plain(", ".join(f for f in fields if f))

    def note(self, message: str) -> None:
        """Print a line above the bar (e.g. a validation result), as plain text."""
        if self._console is not None:
            # Plain: metric names such as fid[digits-evaluator] look like markup to rich.
            self._console.print(message, markup=False, highlight=False)

    def _plain(self, text: str) -> None:
        assert self._console is not None
        self._console.print(escape(f"{self.description}: {text}"), highlight=False)

    def _rate(self, step: int) -> str:
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        return f"{(step - self._start_step) / elapsed:.1f} {self.unit}/s"

    @staticmethod
    def _losses(losses: dict[str, float]) -> str:
        return " ".join(f"{k}={v:.3f}" for k, v in losses.items())


class EvaluationProgress:
    """What an evaluation is doing, one line (or bar) per phase.

    An :class:`~ganbench.eval.eval_progress.EvalProgress`: the evaluation
    code calls :meth:`phase` when it starts sampling, extracting features or
    a metric, and :meth:`update` as units of a phase finish. On a terminal
    every phase stays on screen with its bar and time, so the end shows where
    the time went; elsewhere each phase prints a plain line when it starts
    (with the time since the evaluation began) and long phases one per tenth.
    With ``quiet`` it shows nothing.
    """

    def __init__(self, title: str, *, quiet: bool, console: Console | None = None) -> None:
        self.title = title
        self._console: Console | None = None
        self._progress: Progress | None = None
        self._task = None
        self._phase = ""
        self._total = 1
        self._lines: PlainProgressLines | None = None
        self._start = time.perf_counter()
        if quiet:
            return
        self._console = console or progress_console()
        if self._console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                console=self._console,
                refresh_per_second=4,
            )

    def __enter__(self) -> EvaluationProgress:
        self._start = time.perf_counter()
        if self._progress is not None:
            # The phases below are named without it; plain lines carry it on each line.
            self._progress.console.print(f"[bold]{escape(self.title)}[/bold]")
            self._progress.start()
            _live_consoles.append(self._progress.console)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._console is None:
            return
        elapsed = time.perf_counter() - self._start
        if self._progress is not None:
            if exc_type is None:
                self._finish_task()
            _live_consoles.remove(self._progress.console)
            self._progress.stop()
        elif exc_type is None:
            self._plain(f"done in {elapsed:.1f} s")

    def phase(self, name: str, total: int = 1) -> None:
        """Phase ``name`` begins, with ``total`` units of work; the previous one is over."""
        if self._console is None:
            return
        self._finish_task()  # the previous phase, with its own total
        self._phase, self._total = name, max(int(total), 1)
        if self._progress is not None:
            self._task = self._progress.add_task(
                escape(name), total=self._total, count=self._count(0)
            )
        else:
            self._lines = PlainProgressLines(self._total) if self._total > 1 else None
            self._plain(f"{name} (at {time.perf_counter() - self._start:.1f} s)")

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` units of the current phase are finished (``total`` replaces the phase's)."""
        if self._console is None:
            return
        if total is not None and total != self._total:
            self._total = max(int(total), 1)
            if self._progress is None:
                self._lines = PlainProgressLines(self._total) if self._total > 1 else None
        if self._progress is not None:
            if self._task is not None:
                self._progress.update(
                    self._task, completed=done, total=self._total, count=self._count(done)
                )
        elif self._lines is not None and self._lines.due(done):
            self._plain(f"{self._phase} {done}/{self._total}")

    def _count(self, done: int) -> str:
        # "0/1" for a phase that is one piece of work says nothing.
        return f"{done}/{self._total}" if self._total > 1 else ""

    def _finish_task(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._total, count=self._count(self._total))

    def _plain(self, text: str) -> None:
        assert self._console is not None
        self._console.print(escape(f"{self.title}: {text}"), highlight=False)
