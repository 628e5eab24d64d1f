"""``ganbench store add RUN...``: put finished run folders into a results store.

A run writes its folder first and the store last, so a run whose store could
not be written (moved, read-only, on another machine) is still complete on
disk; this command adds it later. Adding is idempotent: a run already stored
with the same record is left as it is, and a changed record replaces the old
one (same run id, one transaction).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ganbench.errors import GanbenchError
from ganbench.paths import runs_dir
from ganbench.results.paths import default_store_path
from ganbench.run.request import RECORD_FILE

if TYPE_CHECKING:
    from ganbench.registry import Registry
    from ganbench.run.record import RunRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench store``."""
    parser.add_argument("action", choices=("add",), help="add: store finished run folders")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders or run ids")
    parser.add_argument(
        "--runs-dir", type=Path, help="where run ids are looked up (default: ./runs)"
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="results store file (default: $GANBENCH_STORE or ./runs/results.sqlite)",
    )


def read_run_record(run: str, where: Path) -> RunRecord:
    """The finished record of run ``run`` (a folder or an id under ``where``)."""
    from ganbench.run.record import RunRecord
    from ganbench.run.runner import find_run_dir

    run_dir = find_run_dir(run, where)
    path = run_dir / RECORD_FILE
    if not path.is_file():
        raise GanbenchError(
            f"run {str(run_dir)!r} has no {RECORD_FILE}: it has not finished; "
            f"resume it with `ganbench run --resume {run_dir}`"
        )
    try:
        record = RunRecord.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise GanbenchError(f"run record {str(path)!r} is corrupt ({exc})") from None
    if record.run_id != run_dir.name:
        raise GanbenchError(
            f"run record {str(path)!r} is of run {record.run_id!r}, not of its folder "
            f"{run_dir.name!r}"
        )
    if record.status == "running":
        raise GanbenchError(f"run {str(run_dir)!r} is still running; its record is not final")
    return record


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Add every named run to the store; all are checked before any is added."""
    from ganbench.results.store import ResultsStore
    from ganbench.results.writable import check_results_store
    from ganbench.run.record import comparison_key

    store_path = args.store or default_store_path()
    check_results_store(store_path, "--store or $GANBENCH_STORE")
    records = [read_run_record(run, args.runs_dir or runs_dir()) for run in args.runs]
    for record in records:
        if record.comparison_key != comparison_key(record.protocol):
            raise GanbenchError(
                f"run {record.run_id!r}: its comparison key does not match its protocol; "
                "the record was edited after the run and is refused"
            )
    store = ResultsStore(store_path)
    for record in records:
        stored = store.get(record.run_id)
        if stored is not None and stored.to_dict() == record.to_dict():
            print(f"{record.run_id}: already in {store_path}, unchanged")
            continue
        store.add(record)
        print(f"{record.run_id}: {'replaced' if stored else 'added'} in {store_path}")
    real_rows = {(r.task, r.comparison_key) for r in store.runs(kind="real-data")}
    for task, key in sorted({(r.task, r.comparison_key) for r in records}):
        if (task, key) not in real_rows:
            print(
                f"note: {store_path} has no real-data row for protocol {key} ({task}); "
                "the next completed `ganbench run` under that protocol adds it"
            )
    return 0
