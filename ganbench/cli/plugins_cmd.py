"""``ganbench plugins``: what is installed, from where, and what failed to load."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console

if TYPE_CHECKING:
    from ganbench.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench plugins``."""
    parser.add_argument("--json", action="store_true", help="print a JSON list of plugins")


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Show each plugin: name, version, source, registrations, error."""
    reports = [r.to_dict() for r in registry.reports]
    if args.json:
        print(json.dumps(reports, indent=2, sort_keys=True))
        return 0
    table = Table(title="ganbench plugins")
    for column in ("name", "version", "source", "registers", "error"):
        table.add_column(column, overflow="fold")
    for report in reports:
        registers = "; ".join(
            f"{kind}: {', '.join(names)}" for kind, names in sorted(report["registers"].items())
        )
        table.add_row(
            escape(report["name"]),
            escape(report["version"] or "-"),
            escape(report["source"]),
            escape(registers or "-"),
            f"[red]{escape(report['error'])}[/red]" if report["error"] else "-",
        )
    make_console().print(table)
    return 0
