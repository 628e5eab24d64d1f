"""Executors: where a sweep's cells run. The local one, and the interface others implement.

An :class:`Executor` takes cell attempts (:meth:`~Executor.submit`) and
yields ``(task, outcome)`` pairs as they finish (:meth:`~Executor.completed`);
it never writes the results store, and an attempt's failure comes back as an
outcome, never as an exception. The driver (:mod:`ganbench.sweep.driver`)
decides about retries and stores the records, so an executor for Ray or
Slurm only has to move a :class:`~ganbench.sweep.worker.CellTask` to a
machine, call :func:`~ganbench.sweep.worker.run_cell` there and bring the
:class:`~ganbench.sweep.worker.CellOutcome` back.

:class:`LocalExecutor` runs ``workers`` processes of a
``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method,
rather than one ``ganbench run`` subprocess per cell: a worker imports torch
and loads the plugins once for all its cells (two to three seconds per cell
saved), and the record comes back as an object, not parsed from stdout.
``spawn`` rather than ``fork``: the driver has imported torch, whose OpenMP
and CUDA state does not survive a fork, and ``spawn`` is what macOS and
Windows use anyway, so a sweep behaves the same everywhere. Each worker gets
``max(1, cores // workers)`` threads (``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` and torch's pool) unless the sweep fixes ``threads``, so
two workers on two cores do not oversubscribe them.
"""

from __future__ import annotations

import multiprocessing
import os
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from ganbench.sweep.worker import CellOutcome, CellTask, WorkerSettings, init_worker, run_cell

#: Executors by ``--executor`` name (Ray and Slurm are to come).
EXECUTOR_NAMES = ("local",)


class Executor(ABC):
    """Runs cell attempts somewhere and reports each one's outcome."""

    @abstractmethod
    def submit(self, task: CellTask) -> None:
        """Queue ``task``; it runs when a worker is free."""

    @abstractmethod
    def completed(self) -> Iterator[tuple[CellTask, CellOutcome]]:
        """Yield each submitted task with its outcome as it finishes, until none is left.

        Tasks submitted while iterating are run and yielded too.
        """

    @property
    @abstractmethod
    def running(self) -> int:
        """How many tasks are running now (not merely queued)."""

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Release the workers; ``cancel``: stop running tasks and drop queued ones."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(cancel=exc_type is not None)


def available_cores() -> int:
    """The CPU cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """``max(1, cores // workers)``: the cores shared out, none oversubscribed."""
    return max(1, (cores or available_cores()) // max(1, workers))


class LocalExecutor(Executor):
    """``workers`` spawned processes on this machine, each running one cell at a time.

    At most ``workers`` tasks are handed to the pool at once and the rest wait
    here, so that a worker that dies (killed for memory, a crash in native
    code) fails only the attempts that were running, not the queued ones: the
    pool is then replaced and the queue goes on.
    """

    def __init__(self, workers: int, settings: WorkerSettings) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.settings = settings
        self._queue: deque[CellTask] = deque()
        self._futures: dict[Future[CellOutcome], CellTask] = {}
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
                initargs=(self.settings,),
            )
        return self._pool

    def _dispatch(self) -> None:
        while self._queue and len(self._futures) < self.workers:
            task = self._queue.popleft()
            self._futures[self._ensure_pool().submit(run_cell, task)] = task

    def submit(self, task: CellTask) -> None:
        self._queue.append(task)
        self._dispatch()

    @property
    def running(self) -> int:
        return len(self._futures)

    def completed(self) -> Iterator[tuple[CellTask, CellOutcome]]:
        while self._futures or self._queue:
            self._dispatch()
            done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = self._futures.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = CellOutcome(
                        error="the worker process died (killed, out of memory, or a crash "
                        "in native code)"
                    )
                yield task, outcome
            if broken:
                self._replace_pool()

    def _replace_pool(self) -> None:
        """After a worker died: the old pool is unusable; its other running tasks fail too."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self, cancel: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if cancel:
            self._queue.clear()
            # The pool has no public way to stop a running task; its processes
            # (``_processes``, there since Python 3.2) are ours to end.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            pool.shutdown(wait=True)
