"""``ganbench plugins``: what is installed, from where, what failed to load, and parameters.

Models and tricks may declare parameters (``ModelSpec.params``,
``TrickSpec.params``), set on the command line as ``--plugin NAME:VALUE``
(the first one) or ``--plugin NAME:key=value,...`` (and the same after
``--trick``). The listing shows each one's name, type, default, choices and
meaning, for models and tricks alike: without it, a user would have to read
a plugin's source to learn what ``pacgan:4`` sets.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from ganbench.console import make_console

if TYPE_CHECKING:
    from ganbench.registry import Registry
    from ganbench.specs import Param

#: The registration tables whose entries may declare parameters, and their noun.
PARAMETRISED = (("models", "model"), ("tricks", "trick"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``ganbench plugins``."""
    parser.add_argument("--json", action="store_true", help="print a JSON list of plugins")


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def param_entry(param: Param) -> dict[str, Any]:
    """JSON-ready form of one parameter: name, type, default, choices, help."""
    return {
        "name": param.name,
        "type": _type_name(param.type),
        "default": param.default,
        "choices": list(param.choices),
        "help": param.help,
    }


def plugin_params(
    registers: dict[str, list[str]], registry: Registry
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The parameters of a plugin's models and tricks that declare any.

    ``{"models": {"pacgan": [param, ...]}, "tricks": {...}}``, each param as
    :func:`param_entry` gives it, in declaration order (the first is the one
    ``NAME:VALUE`` sets); tables without parametrised entries are left out.
    """
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for table, _ in PARAMETRISED:
        specs = getattr(registry, table)
        for name in sorted(registers.get(table, [])):
            spec = specs.get(name)
            if spec is not None and spec.params:
                out.setdefault(table, {})[name] = [param_entry(p) for p in spec.params]
    return out


def _show(value: Any) -> str:
    return escape(repr(value))


def _params_table(reports: list[dict[str, Any]]) -> Table | None:
    """One row per parameter of every model and trick; None when none declares any."""
    table = Table(
        title="model and trick parameters "
        "(--plugin/--trick NAME:VALUE sets the first, NAME:key=value,... any)"
    )
    for column in ("plugin", "registered", "parameter", "type", "default", "choices", "meaning"):
        table.add_column(column, overflow="fold")
    rows = 0
    for report in reports:
        for table_name, noun in PARAMETRISED:
            for name, params in report["params"].get(table_name, {}).items():
                for i, param in enumerate(params):
                    table.add_row(
                        escape(report["name"]),
                        escape(f"{noun} {name}"),
                        escape(param["name"]) + (" (first)" if i == 0 else ""),
                        escape(param["type"]),
                        _show(param["default"]),
                        ", ".join(_show(c) for c in param["choices"]) or "-",
                        escape(param["help"] or "-"),
                    )
                    rows += 1
    return table if rows else None


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Show each plugin (name, version, source, registrations, error), then the parameters."""
    reports = []
    for report in registry.reports:
        entry = report.to_dict()
        entry["params"] = plugin_params(entry["registers"], registry)
        reports.append(entry)
    if args.json:
        # default=repr: a parameter's default need not be a JSON type.
        print(json.dumps(reports, indent=2, sort_keys=True, default=repr))
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
    console = make_console()
    console.print(table)
    params = _params_table(reports)
    if params is not None:
        console.print(params)
    return 0
