"""``ganbench check-plugin NAME``: run the conformance kit on a plugin and show the results."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console

if TYPE_CHECKING:
    from ganbench.registry import Registry

STATUS_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ganbench check-plugin``."""
    parser.add_argument(
        "name",
        metavar="NAME",
        help="a plugin as `ganbench plugins` lists it, or a registered model, trick, dataset, "
        "metric or feature extractor",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of the results")


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Check the plugin; exit 0 when no check failed, 1 when one did."""
    from ganbench.testing import check_plugin, failures  # imports torch

    if args.json:
        results = check_plugin(args.name, registry)
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 1 if failures(results) else 0

    status = make_console(stderr=True).status(f"checking {args.name}")

    def progress(kind: str, name: str) -> None:
        status.update(f"checking {kind.replace('_', ' ')} {name}")

    with status:
        results = check_plugin(args.name, registry, progress=progress)
    failed = failures(results)
    table = Table(title=f"ganbench check-plugin {args.name}")
    for column in ("kind", "subject", "check", "status", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(
            escape(r.kind.replace("_", " ")),
            escape(r.subject),
            escape(r.check),
            f"[{style}]{r.status}[/{style}]",
            escape(r.detail or "-"),
        )
    console = make_console()
    console.print(table)
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "skipped")}
    console.print(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped",
        style="bold red" if failed else "bold green",
    )
    return 1 if failed else 0
