"""``ganbench ablate``: the baseline against the baseline plus each trick, on the same seeds."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from ganbench.console import make_console
from ganbench.paths import runs_dir
from ganbench.results.paths import default_store_path

from .parser import comma_list, non_negative_int, positive_int

if TYPE_CHECKING:
    from ganbench.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench ablate``."""
    parser.add_argument("--plugin", "--model", dest="model", required=True, help="the model")
    parser.add_argument("--dataset", default="digits", help="dataset (default: digits)")
    parser.add_argument(
        "--trick",
        action="append",
        required=True,
        metavar="NAME[:VALUE]|a+b|all",
        help="an arm: a trick, tricks joined by + (one arm), or all (each trick that applies)",
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=5, help="seeds 0..N-1 for every arm (default: 5)"
    )
    parser.add_argument(
        "--steps", type=non_negative_int, help="generator steps (dataset's default)"
    )
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("--metric", type=comma_list, dest="metrics", help="metrics to compute")
    parser.add_argument("--eval-samples", type=positive_int)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=positive_int)
    parser.add_argument("--runs-dir", type=Path, help="where run folders go")
    parser.add_argument("--store", type=Path, help="results store (cells are reused from it)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("leaderboards"),
        help="writes OUT/ablations/<model>/<dataset>.md and .csv (default: ./leaderboards)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench ablate``."""
    from ganbench.ablate.cells import ALL_TRICKS, parse_arms
    from ganbench.ablate.report import render_table, write_report
    from ganbench.ablate.running import run_ablation
    from ganbench.results.writable import check_writable_folder
    from ganbench.run.request import RunRequest
    from ganbench.run.runner import RunPlaces, execute_run

    check_writable_folder(args.out, "ablation reports", "--out")
    places = RunPlaces(
        runs_dir=args.runs_dir or runs_dir(), store_path=args.store or default_store_path()
    )
    base = RunRequest(
        model=args.model,
        dataset=args.dataset,
        steps=args.steps,
        batch_size=args.batch_size,
        device=args.device,
        metrics=args.metrics,
        eval_samples=args.eval_samples,
        threads=args.threads,
    )
    console = make_console()
    arms = parse_arms(args.trick, registry)

    def note(number: int, total: int, arm: str, seed: int, reused: bool) -> None:
        if not args.quiet:
            how = "from the store" if reused else "trained"
            console.print(f"cell {number}/{total}: {escape(arm)}, seed {seed}: {how}")

    ablation = run_ablation(
        registry,
        base,
        arms,
        range(args.seeds),
        places.store_path,
        lambda request: execute_run(registry, request, places, quiet=args.quiet),
        drop_refused=ALL_TRICKS in args.trick,
        on_cell=note,
    )
    command = "ganbench ablate " + shlex.join(
        [f"--plugin={args.model}", f"--dataset={args.dataset}", f"--seeds={args.seeds}"]
        + [f"--trick={t}" for t in args.trick]
        + ([f"--steps={args.steps}"] if args.steps is not None else [])
        + ([f"--batch-size={args.batch_size}"] if args.batch_size is not None else [])
    )
    written = write_report(ablation, args.out, command)
    if not args.quiet:
        console.print(render_table(ablation))
        for arm, why in sorted(ablation.refused.items()):
            console.print(f"does not apply: {escape(arm)}: {escape(why)}")
        reused = ablation.reused
        console.print(
            f"{reused} of {len(ablation.arms) * len(ablation.seeds)} cells from the store"
        )
    for path in written:
        console.print(f"wrote {path}")
    return 0
