"""``ganbench run``: train a model under the standard protocol and evaluate it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console
from ganbench.errors import GanbenchError
from ganbench.paths import runs_dir
from ganbench.results.paths import default_store_path
from ganbench.run.record import RunRecord
from ganbench.run.request import RECORD_FILE, RunRequest, read_run_config
from ganbench.run.resume import resumed_request

from .metric_summary import informational_names, informational_summary, ranked_names
from .parser import add_inception_weights_argument, comma_list, non_negative_int, positive_int

if TYPE_CHECKING:
    from ganbench.registry import Registry
    from ganbench.specs import MetricSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench run``."""
    parser.add_argument(
        "--plugin", "--model", dest="model", help="model to train (see `ganbench plugins`)"
    )
    parser.add_argument("--dataset", help="dataset (default: digits, offline)")
    parser.add_argument(
        "--trick",
        action="append",
        default=[],
        metavar="NAME[:VALUE|:k=v,...]",
        help="training trick; repeat to compose, applied in order",
    )
    parser.add_argument(
        "--steps",
        type=non_negative_int,
        help="generator steps (0 evaluates the untrained generator)",
    )
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument(
        "--d-steps", type=positive_int, help="D steps per G step (default: the model's)"
    )
    parser.add_argument("--seed", type=non_negative_int, help="training seed (default: 0)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help="default: auto (CUDA when present)"
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads for torch and numpy (default: torch's own choice; recorded, "
        "because the thread count changes the numbers a seed gives)",
    )
    parser.add_argument("--image-size", type=positive_int, help="resize images to this square size")
    parser.add_argument(
        "--data-dir",
        help="folder with dataset files (default: $GANBENCH_DATA_DIR or ~/.cache/ganbench/data)",
    )
    parser.add_argument("--data-path", help="image-folder: the folder of images")
    parser.add_argument(
        "--download", action="store_true", help="download missing dataset files (needs internet)"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        help="steps between checkpoints and validations (default: steps/10)",
    )
    parser.add_argument(
        "--feature-extractor",
        help="feature space for metrics (default: the dataset's; 'none' for none)",
    )
    add_inception_weights_argument(parser)
    parser.add_argument(
        "--metric",
        type=comma_list,
        dest="metrics",
        help="metrics to compute, comma-separated (default: all that apply)",
    )
    parser.add_argument(
        "--skip-metric",
        type=comma_list,
        dest="skip_metrics",
        metavar="a,b,...",
        help="metrics not to compute, comma-separated (e.g. attack-robustness); recorded",
    )
    parser.add_argument(
        "--eval-samples",
        type=positive_int,
        help="generated samples for evaluation (default: the dataset's)",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue a killed run (a run id or folder); a larger --steps extends it, "
        "--data-dir and --inception-weights may point elsewhere, other run flags must match",
    )
    parser.add_argument(
        "--runs-dir", type=Path, help="where run folders go (default: $GANBENCH_RUNS_DIR or ./runs)"
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="results store file (default: $GANBENCH_STORE or ./runs/results.sqlite)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the run record as one JSON object"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table")


def _format(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.4e}"


def print_record_table(
    record: RunRecord,
    console: Console,
    metric_specs: Mapping[str, MetricSpec] | None = None,
) -> None:
    """The run's ranked metrics as a rich table, with where its files went.

    The primary metric (checkpoint selection, leaderboards) comes first and
    is marked; informational values get one line, grouped by the metric in
    ``metric_specs`` that declares them, and stay whole in ``record.json``.
    """
    title = f"{record.model} on {record.dataset} (seed {record.seed}): {record.status}"
    table = Table(title=escape(title))
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("better", justify="center")
    for name in ranked_names(record.metrics, record.directions, record.primary_metric):
        primary = name == record.primary_metric
        label = f"[bold]{escape(name)}[/bold] (primary)" if primary else escape(name)
        table.add_row(label, _format(record.metrics[name]), record.directions[name])
    if record.metrics:
        console.print(table)
    summary = informational_summary(
        informational_names(record.metrics, record.directions), metric_specs, RECORD_FILE
    )
    if summary is not None:
        console.print(escape(summary))
    for name, why in sorted((record.protocol.get("unranked_metrics") or {}).items()):
        console.print(f"not ranked: {escape(name)}: {escape(why)}")
    if record.status == "diverged":
        console.print(f"diverged at step {record.diverged_at_step}: a loss became NaN or infinite")
    skipped = sorted((record.protocol.get("skipped_metrics") or {}).items())
    misfits = [name for name, why in skipped if why.startswith("does not apply")]
    for name, why in skipped:
        if name not in misfits:
            console.print(f"not computed: {escape(name)}: {escape(why)}")
    if misfits:
        console.print(
            f"not applicable here: {escape(', '.join(misfits))} (why: skipped_metrics in record.json)"
        )
    fe = record.protocol.get("feature_extractor") or {}
    if fe.get("test_accuracy") is not None:
        console.print(
            f"feature space {escape(str(fe.get('space')))}: evaluator test accuracy {fe['test_accuracy']:.4f}"
        )
    selected = (
        f"checkpoint selected on the validation split at step {record.selected_step}"
        if record.selected_step is not None
        else "last checkpoint evaluated"
    )
    console.print(
        f"run {record.run_id}: {record.steps_done}/{record.steps} steps, "
        f"{selected}, {record.wall_time_s:.1f} s; "
        f"files in {escape(str(record.run_dir))}"
    )


#: ``RunRequest`` fields whose flag's argparse ``dest`` has another name.
_FLAG_DEST = {"tricks": "trick"}


def given_request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The ``RunRequest`` fields the user set on the command line, by field name.

    Flags left unset are absent (their argparse default is None, False or an
    empty list), so a resumed run can tell "not given" from "given the
    default value". Every ``RunRequest`` field with a flag of the same
    ``dest`` is picked up, so a new field needs no change here.
    """
    given: dict[str, Any] = {}
    for field in fields(RunRequest):
        value = getattr(args, _FLAG_DEST.get(field.name, field.name), None)
        if value is None or value is False or (isinstance(value, list | tuple) and not value):
            continue
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, Path):
            value = str(value)
        given[field.name] = value
    return given


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench run``."""
    from ganbench.run.runner import RunPlaces, execute_run, find_run_dir  # imports torch

    places = RunPlaces(
        runs_dir=args.runs_dir or runs_dir(),
        store_path=args.store or default_store_path(),
    )
    given = given_request_fields(args)
    resume_dir = None
    if args.resume:
        resume_dir = find_run_dir(args.resume, places.runs_dir)
        _, saved = read_run_config(resume_dir)
        default_steps = registry.dataset(saved.dataset).default_steps
        request = resumed_request(saved, given, resume_dir, default_steps)
    else:
        if "model" not in given:
            choices = ", ".join(sorted(registry.models)) or "(none registered)"
            raise GanbenchError(f"no model given: use --plugin NAME; valid choices: {choices}")
        request = RunRequest(**given)
    # The progress bar goes to stderr, so it stays on with --json (stdout holds the JSON).
    record = execute_run(registry, request, places, quiet=args.quiet, resume_dir=resume_dir)
    if args.json:
        print(json.dumps(record.to_dict(), sort_keys=True))
    elif not args.quiet:
        print_record_table(record, make_console(), registry.metrics)
    return 0
