"""``ganbench tricks``: the registered tricks, and ``--matrix``: every trick against every model.

``ganbench tricks`` lists each trick's hook points, parameters and
description. ``--matrix`` builds every registered model (default
parameters, no training) and shows, per (trick, model) pair, whether the
trick applies, why it is refused, and any published ablation's effect.
``--write FILE`` writes the same as the Markdown page ``leaderboards/tricks.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console

if TYPE_CHECKING:
    from ganbench.registry import Registry

#: Where ``ganbench ablate`` publishes by default (its ``--out leaderboards``).
DEFAULT_ABLATIONS = Path("leaderboards") / "ablations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench tricks``."""
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="every trick against every model: applies, refused (why), published effect",
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME",
        help="build every model on this dataset (default: digits for image models, "
        "ring8 for 2-D models)",
    )
    parser.add_argument(
        "--write",
        "--out",
        dest="write",
        type=Path,
        metavar="FILE",
        help="write the matrix as a Markdown page (leaderboards/tricks.md)",
    )
    parser.add_argument(
        "--ablations",
        type=Path,
        metavar="DIR",
        help="published ablations, DIR/<model>/<dataset>.csv (default: the ablations "
        "folder next to --write FILE, else leaderboards/ablations)",
    )


def _list_tricks(registry: Registry) -> Table:
    """One row per trick: plugin, hook points, parameters (name=default), description."""
    table = Table(title="ganbench tricks (--matrix: which models each applies to)")
    for column in ("trick", "plugin", "hook points", "parameters", "description"):
        table.add_column(column, overflow="fold")
    for name in sorted(registry.tricks):
        spec = registry.tricks[name]
        params = ", ".join(f"{p.name}={p.default!r}" for p in spec.params)
        table.add_row(
            escape(name),
            escape(registry.owner("tricks", name)),
            escape(", ".join(spec.hook_points)),
            escape(params or "-"),
            escape(spec.description or "-"),
        )
    return table


def run(args: argparse.Namespace, registry: Registry) -> int:
    """List the tricks, or build, print and (``--write``) write the matrix."""
    console = make_console()
    if not (args.matrix or args.write or args.dataset):
        console.print(_list_tricks(registry))
        return 0
    # Imported here: building models needs torch, which the listing does not.
    from ganbench.matrix import build_matrix
    from ganbench.matrix.render import render_markdown, render_table, summary_line, text_notes
    from ganbench.results.atomic import atomic_write_text

    ablations = args.ablations
    if ablations is None:
        ablations = args.write.parent / "ablations" if args.write else DEFAULT_ABLATIONS
    matrix = build_matrix(registry, args.dataset, ablations)
    if args.matrix or not args.write:
        console.print(render_table(matrix))
        for line in text_notes(matrix):
            console.print(escape(line), highlight=False)
    if args.write:
        atomic_write_text(args.write, render_markdown(matrix))
        console.print(f"{escape(summary_line(matrix))}; wrote {escape(str(args.write))}")
    return 0
