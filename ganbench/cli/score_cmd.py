"""``ganbench score REAL FAKE``: score two sample sets without training anything."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console
from ganbench.results.writable import check_cache_writable
from ganbench.scoring.source_forms import SOURCE_FORMS

from .parser import add_inception_weights_argument, comma_list, non_negative_int, positive_int

if TYPE_CHECKING:
    from rich.console import Console

    from ganbench.registry import Registry
    from ganbench.scoring.score import ScoreResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ganbench score``."""
    parser.add_argument("real", metavar="REAL", help=f"reference samples: {SOURCE_FORMS}")
    parser.add_argument("fake", metavar="FAKE", help=f"samples to score: {SOURCE_FORMS}")
    parser.add_argument(
        "--metric",
        type=comma_list,
        dest="metrics",
        help="metrics, comma-separated, e.g. fid,kid,is,prdc (default: all that apply)",
    )
    parser.add_argument(
        "--feature-extractor",
        help="feature space (default: the dataset's when a side is a dataset or run, "
        "else inception-v3; 'none' for raw-sample metrics only)",
    )
    add_inception_weights_argument(parser)
    parser.add_argument(
        "--samples",
        type=positive_int,
        help="samples drawn from a run folder's generator (default: the dataset's eval count)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seeds sampling and metric subsets"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--data-dir", help="folder with dataset files for dataset: sources")
    parser.add_argument("--download", action="store_true", help="download missing dataset files")
    parser.add_argument("--image-size", type=positive_int, help="resize dataset: sources")
    parser.add_argument(
        "--crop",
        type=non_negative_int,
        help="pixels cropped from every border by psnr and ssim (default: the scale of a "
        "super-resolution run, else 4)",
    )
    parser.add_argument("--json", action="store_true", help="print {metrics, protocol} as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def print_score_table(result: ScoreResult, console: Console) -> None:
    """Metric values as a rich table, and what was compared."""
    protocol = result.protocol
    table = Table(title="ganbench score")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("better", justify="center")
    for name in sorted(result.metrics):
        direction = result.directions.get(name, "info")
        table.add_row(
            escape(name), f"{result.metrics[name]:.6g}", "" if direction == "info" else direction
        )
    console.print(table)
    space = (protocol.get("feature_extractor") or {}).get("space", "none")
    console.print(
        f"{protocol['n_real']} real vs {protocol['n_fake']} fake samples in feature space "
        f"{escape(str(space))}; --json prints the full protocol record"
    )


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench score``."""
    # Imported here: they import torch, which --help and flag errors must not wait for.
    from ganbench.run.preparation import resolve_device
    from ganbench.scoring.paired import wants_pairs
    from ganbench.scoring.score import score_sets
    from ganbench.scoring.sources import SourceOptions, load_source

    check_cache_writable()  # before any work: features and statistics are cached
    device = resolve_device(args.device)
    for name in args.metrics or ():  # names first: sampling a run folder takes time
        registry.metric(name)
    if args.feature_extractor not in (None, "none"):
        registry.feature_extractor(args.feature_extractor)
    if wants_pairs(args.metrics, registry):
        return _score_folder_pairs(args, registry)
    if args.crop is not None:
        from ganbench.errors import GanbenchError

        raise GanbenchError(
            "--crop applies when every --metric pairs images by file name (psnr, ssim); "
            f"got --metric {','.join(args.metrics or ['(all that apply)'])}"
        )
    options = SourceOptions(
        data_dir=args.data_dir,
        download=args.download,
        image_size=args.image_size,
        samples=args.samples,
        seed=args.seed,
        device=device,
    )
    real = load_source(args.real, registry, options)
    fake = load_source(args.fake, registry, options)
    result = score_sets(
        real,
        fake,
        registry,
        metrics=args.metrics,
        feature_extractor=args.feature_extractor,
        seed=args.seed,
        device=device,
        inception_weights=str(args.inception_weights) if args.inception_weights else None,
        quiet=args.quiet or args.json,
    )
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True))
    else:
        print_score_table(result, make_console())
    return 0


def _score_folder_pairs(args: argparse.Namespace, registry: Registry) -> int:
    """Metrics of paired targets (psnr, ssim) on two folders, image against image by name."""
    from pathlib import Path

    from ganbench.errors import GanbenchError
    from ganbench.run.request import CONFIG_FILE
    from ganbench.scoring.paired import load_image_pairs, score_pairs

    if args.feature_extractor not in (None, "none"):
        raise GanbenchError(
            f"--feature-extractor {args.feature_extractor} does not apply to "
            f"{', '.join(args.metrics)}: they compare pixels of paired images"
        )
    folders = [Path(text).expanduser() for text in (args.real, args.fake)]
    for side, text, folder in zip(("REAL", "FAKE"), (args.real, args.fake), folders, strict=True):
        if not folder.is_dir() or (folder / CONFIG_FILE).is_file():
            raise GanbenchError(
                f"{', '.join(args.metrics)} pair images by file name: {side} must be a folder "
                f"of images, got {text!r}"
            )
    pairs = load_image_pairs(*folders)
    specs = {name: registry.metric(name) for name in args.metrics}
    description = {
        "real": {"kind": "folder", "path": str(folders[0])},
        "fake": {"kind": "folder", "path": str(folders[1])},
    }
    result = score_pairs(pairs, specs, crop=args.crop, seed=args.seed, description=description)
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True))
    else:
        print_score_table(result, make_console())
    return 0
