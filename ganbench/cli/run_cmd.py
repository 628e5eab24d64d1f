"""``ganbench run``: train a model under the standard protocol and evaluate it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ganbench.errors import GanbenchError
from ganbench.eval.record import RunRecord
from ganbench.paths import runs_dir
from ganbench.registry import Registry
from ganbench.results.paths import default_store_path
from ganbench.run_request import RunRequest, read_run_config
from ganbench.runner import RunPlaces, execute_run, find_run_dir

from .parser import add_inception_weights_argument, comma_list, non_negative_int, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench run``."""
    parser.add_argument(
        "--plugin", "--model", dest="model", help="model to train (see `ganbench plugins`)"
    )
    parser.add_argument("--dataset", default="digits", help="dataset (default: digits, offline)")
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
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
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
        "--eval-samples",
        type=positive_int,
        help="generated samples for evaluation (default: the dataset's)",
    )
    parser.add_argument(
        "--resume", metavar="RUN", help="continue a killed run (a run id or folder)"
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


def print_record_table(record: RunRecord, console: Console) -> None:
    """The run's metrics as a rich table, with where its files went."""
    title = f"{record.model} on {record.dataset} (seed {record.seed}): {record.status}"
    table = Table(title=escape(title))
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("better", justify="center")
    for name in sorted(record.metrics):
        direction = record.directions.get(name, "info")
        arrow = {"lower": "lower", "higher": "higher"}.get(direction, "")
        table.add_row(escape(name), _format(record.metrics[name]), arrow)
    console.print(table)
    if record.status == "diverged":
        console.print(f"diverged at step {record.diverged_at_step}: a loss became NaN or infinite")
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


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench run``."""
    places = RunPlaces(
        runs_dir=args.runs_dir or runs_dir(),
        store_path=args.store or default_store_path(),
    )
    resume_dir = None
    if args.resume:
        resume_dir = find_run_dir(args.resume, places.runs_dir)
        _, request = read_run_config(resume_dir)
    else:
        if not args.model:
            choices = ", ".join(sorted(registry.models)) or "(none registered)"
            raise GanbenchError(f"no model given: use --plugin NAME; valid choices: {choices}")
        request = RunRequest(
            model=args.model,
            dataset=args.dataset,
            tricks=tuple(args.trick),
            steps=args.steps,
            batch_size=args.batch_size,
            d_steps=args.d_steps,
            seed=args.seed,
            device=args.device,
            image_size=args.image_size,
            data_dir=args.data_dir,
            download=args.download,
            data_path=args.data_path,
            checkpoint_every=args.checkpoint_every,
            feature_extractor=args.feature_extractor,
            metrics=args.metrics,
            eval_samples=args.eval_samples,
            inception_weights=str(args.inception_weights) if args.inception_weights else None,
        )
    # The progress bar goes to stderr, so it stays on with --json (stdout holds the JSON).
    record = execute_run(registry, request, places, quiet=args.quiet, resume_dir=resume_dir)
    if args.json:
        print(json.dumps(record.to_dict(), sort_keys=True))
    elif not args.quiet:
        print_record_table(record, Console())
    return 0
