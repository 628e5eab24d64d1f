"""``ganbench sweep SWEEP.toml``: run every cell of a sweep file, resumably, into one store.

Exit status: 0 when every cell is completed (or diverged: a recorded
result), 1 when some cell failed after its retries, 2 for bad input (the
sweep file, a model that does not fit its dataset, an unwritable place),
found before any cell runs.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from ganbench.console import make_console
from ganbench.paths import runs_dir
from ganbench.results.paths import default_store_path

from .parser import non_negative_int, positive_int

if TYPE_CHECKING:
    from ganbench.registry import Registry
    from ganbench.sweep.cells import Cell


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench sweep``."""
    parser.add_argument("sweep_file", type=Path, metavar="SWEEP.toml", help="the sweep file")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="cells run at a time (default: 1); each gets cores // workers threads "
        "unless the sweep file sets threads",
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=2,
        help="times a failed cell is tried again before it is recorded failed (default: 2)",
    )
    parser.add_argument(
        "--executor",
        choices=("local",),
        default="local",
        help="where cells run (default: local processes; Ray and Slurm to come)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the cells and which are done; run nothing"
    )
    parser.add_argument(
        "--runs-dir", type=Path, help="where run folders go (default: $GANBENCH_RUNS_DIR or ./runs)"
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="results store; done cells are skipped from it "
        "(default: $GANBENCH_STORE or ./runs/results.sqlite)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, no table")


def check_cells(cells: list[Cell], registry: Registry) -> None:
    """Prepare each distinct run once (seed aside): bad input fails before any cell runs.

    This is ``ganbench run``'s own check (the model fits the dataset, the
    tricks apply, the data is there, the metrics can be computed), without
    training; ``ganbench ablate`` checks its arms the same way.
    """
    from ganbench.run.preparation import prepare_run  # imports torch

    seen = set()
    for cell in cells:
        request = dataclasses.replace(cell.request, seed=0)
        if request in seen:
            continue
        seen.add(request)
        prepare_run(request, registry)


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench sweep``."""
    from ganbench.results.store import ResultsStore
    from ganbench.run.runner import RunPlaces, check_run_places
    from ganbench.sweep.cells import sweep_cells
    from ganbench.sweep.driver import SweepPlan, find_cell_folders, plan_sweep, run_sweep
    from ganbench.sweep.executors import LocalExecutor, threads_per_worker
    from ganbench.sweep.report import (
        SweepProgress,
        dry_run_table,
        summary_line,
        summary_table,
    )
    from ganbench.sweep.spec_file import read_sweep_file
    from ganbench.sweep.worker import WorkerSettings

    sweep = read_sweep_file(args.sweep_file, registry)
    cells = sweep_cells(sweep, registry)
    places = RunPlaces(
        runs_dir=args.runs_dir or runs_dir(), store_path=args.store or default_store_path()
    )
    console = make_console()
    if args.dry_run and not places.store_path.exists():
        # A dry run creates nothing: without a store, no cell is done yet.
        plan = SweepPlan(cells, folders=find_cell_folders(places.runs_dir, [c.key for c in cells]))
        console.print(dry_run_table(plan))
        console.print(f"{len(cells)} cells, none in {places.store_path} (it does not exist yet)")
        return 0
    check_run_places(places)
    store = ResultsStore(places.store_path)
    plan = plan_sweep(cells, store, places.runs_dir)
    if args.dry_run:
        console.print(dry_run_table(plan))
        console.print(
            f"{len(cells)} cells, {len(cells) - len(plan.left)} done, {len(plan.left)} left"
        )
        return 0
    check_cells(plan.left, registry)
    settings = WorkerSettings(
        runs_dir=str(places.runs_dir),
        store_path=str(places.store_path),
        threads=sweep.options.get("threads") or threads_per_worker(args.workers),
        plugins_dir=None if args.plugins_dir is None else str(args.plugins_dir),
    )
    try:
        with LocalExecutor(args.workers, settings) as executor, SweepProgress(args.quiet) as shown:
            results = run_sweep(
                plan,
                store,
                executor,
                places.runs_dir,
                retries=args.retries,
                on_progress=shown.update,
            )
    except KeyboardInterrupt:
        make_console(stderr=True).print(
            "ganbench sweep: stopped; the finished cells are stored: run the same command "
            "again to finish the rest"
        )
        raise
    if not args.quiet:
        console.print(summary_table(results))
        console.print(summary_line(results))
    failed = [r for r in results if r.status == "failed"]
    for result in failed:
        make_console(stderr=True).print(
            f"failed: {result.cell.key} {escape(result.cell.label)}: {escape(result.error or '')}"
        )
    return 1 if failed else 0
