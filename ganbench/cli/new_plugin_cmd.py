"""``ganbench new-plugin NAME --kind KIND``: write a complete plugin package to start from."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from ganbench.scaffold import PLUGIN_KINDS, create_plugin_package
from ganbench.scaffold.render import KIND_TEMPLATES
from ganbench.scaffold.template import fill

if TYPE_CHECKING:
    from ganbench.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ganbench new-plugin``."""
    parser.add_argument(
        "name",
        metavar="NAME",
        help="plugin name: lowercase letters and digits, single hyphens between them, "
        "starting with a letter; the distribution is ganbench-NAME, the package ganbench_NAME",
    )
    parser.add_argument(
        "--kind",
        required=True,
        choices=tuple(PLUGIN_KINDS),
        help="what the plugin adds, with a working example of it",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("."),
        metavar="PATH",
        help="create the package folder PATH/NAME (default: ./NAME); never overwrites",
    )


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Write the package and say what to do next."""
    from ganbench.api import API_VERSION  # imports torch

    created = create_plugin_package(args.name, args.kind, args.dir, registry)
    names = created.names
    run_command = fill(KIND_TEMPLATES[names.kind].run_command, names, API_VERSION)
    print(f"created {created.folder} ({names.kind} {names.name!r}, {len(created.files)} files)")
    print(f"  distribution {names.distribution}, package {names.package}")
    print("next:")
    print(f"  pip install -e {shlex.quote(f'{created.folder}[test]')}")
    print(f"  cd {shlex.quote(str(created.folder))} && pytest")
    print(f"  {run_command}")
    return 0
