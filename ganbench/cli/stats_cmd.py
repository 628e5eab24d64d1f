"""``ganbench stats DATASET``: compute (or show) a split's cached reference statistics."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console
from ganbench.errors import GanbenchError
from ganbench.paths import cache_dir
from ganbench.results.writable import check_cache_writable
from ganbench.splits import SPLITS

from .parser import add_inception_weights_argument, positive_int

if TYPE_CHECKING:
    from ganbench.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ganbench stats``."""
    parser.add_argument("dataset", metavar="DATASET", help="a registered dataset")
    parser.add_argument("--split", choices=SPLITS, default="test", help="default: test")
    parser.add_argument(
        "--feature-extractor", help="feature space (default: the dataset's, e.g. inception-v3)"
    )
    add_inception_weights_argument(parser)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--data-dir", help="folder with dataset files")
    parser.add_argument("--data-path", help="image-folder: the folder of images")
    parser.add_argument("--download", action="store_true", help="download missing dataset files")
    parser.add_argument("--image-size", type=positive_int, help="resize images to this size")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Execute ``ganbench stats``."""
    # Imported here: they import torch, which --help and flag errors must not wait for.
    from ganbench.eval.reference_stats import load_or_compute_reference_stats
    from ganbench.run.preparation import (
        build_feature_extractor,
        dataset_options,
        feature_context,
        load_dataset_with,
        resolve_device,
    )

    check_cache_writable()  # before any work: features and statistics are cached
    spec = registry.dataset(args.dataset)
    device = resolve_device(args.device)
    name = args.feature_extractor or spec.feature_extractor
    if name == "none":
        raise GanbenchError("--feature-extractor none has no statistics to compute")
    registry.feature_extractor(name)
    options = dataset_options(args.data_dir, args.download, args.image_size, args.data_path)
    dataset = load_dataset_with(spec, options)
    ctx = feature_context(device, args.inception_weights, quiet=args.quiet or args.json)
    extractor = build_feature_extractor(name, dataset, registry, ctx)
    stats = load_or_compute_reference_stats(dataset, args.split, extractor, cache_dir())
    summary = {
        "dataset": dataset.info.name,
        "split": args.split,
        "n": stats.n,
        "feature_space": extractor.space,
        "dims": stats.dim,
        "has_class_probs": stats.values["real_probs"] is not None,
        "key": stats.key,
        "file": str(stats.path),
        "status": "cached" if stats.loaded else "computed",
        "protocol": stats.record,
    }
    if args.json:
        print(json.dumps(summary, sort_keys=True))
        return 0
    table = Table(title=escape(f"reference statistics: {dataset.info.name} {args.split}"))
    table.add_column("field")
    table.add_column("value")
    for field in ("n", "feature_space", "dims", "has_class_probs", "key", "file", "status"):
        table.add_row(field, escape(str(summary[field])))
    make_console().print(table)
    return 0
