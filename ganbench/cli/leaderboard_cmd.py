"""``ganbench leaderboard build``: tables from the results store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ganbench.cli.parser import positive_int
from ganbench.console import make_console
from ganbench.errors import GanbenchError
from ganbench.results.paths import default_store_path
from ganbench.results.store import ResultsStore
from ganbench.results.writable import check_writable_folder, sqlite_problem

if TYPE_CHECKING:
    from ganbench.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench leaderboard``."""
    parser.add_argument("action", choices=("build",), help="build: write the tables")
    parser.add_argument(
        "--store",
        type=Path,
        help="results store (default: $GANBENCH_STORE or ./runs/results.sqlite)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("leaderboards"),
        help="output folder (default: ./leaderboards)",
    )
    parser.add_argument(
        "--min-seeds",
        type=positive_int,
        default=1,
        metavar="N",
        help="leave out trained rows with fewer than N completed seeds (default: 1; "
        "the published tables use 3)",
    )
    parser.add_argument(
        "--tricks-matrix",
        action="store_true",
        help="also write the trick x model matrix as OUT/tricks.html (builds every registered "
        "model; the published site uses GANBENCH_LOAD_PLUGINS=ganbench)",
    )


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Build the leaderboards."""
    store_path = args.store or default_store_path()
    if not store_path.is_file():
        raise GanbenchError(
            f"no results store at {str(store_path)!r}; run `ganbench run` first or pass --store"
        )
    problem = sqlite_problem(store_path)
    if problem is not None:
        raise GanbenchError(f"cannot read results store {str(store_path)!r}: {problem}")
    check_writable_folder(args.out, "leaderboards", "--out")
    # Imported here: pandas adds a quarter second to every other command's start-up.
    from ganbench.leaderboard.build import build_leaderboards

    tricks_html = None
    if args.tricks_matrix:
        from ganbench.matrix import build_matrix
        from ganbench.matrix.render_html import render_html

        tricks_html = render_html(build_matrix(registry, None, args.out / "ablations"))
    written = build_leaderboards(ResultsStore(store_path), args.out, args.min_seeds, tricks_html)
    console = make_console()
    for path in written:
        console.print(f"wrote {path}")
    return 0
