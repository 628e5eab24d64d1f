"""Entry point of the ``ganbench`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ganbench import __version__
from ganbench.errors import GanbenchError

from . import (
    ablate_cmd,
    check_plugin_cmd,
    leaderboard_cmd,
    new_plugin_cmd,
    plugins_cmd,
    run_cmd,
    score_cmd,
    stats_cmd,
    store_cmd,
    sweep_cmd,
    tricks_cmd,
)
from .parser import OneLineParser

if TYPE_CHECKING:
    from ganbench.registry import Registry

Command = tuple[
    Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace, "Registry"], int], str
]

COMMANDS: dict[str, Command] = {
    "run": (
        run_cmd.add_arguments,
        run_cmd.run,
        "train and evaluate a model under the standard protocol",
    ),
    "score": (
        score_cmd.add_arguments,
        score_cmd.run,
        "score two sample sets (folders, arrays, runs, dataset splits) without training",
    ),
    "stats": (
        stats_cmd.add_arguments,
        stats_cmd.run,
        "compute and cache a dataset split's reference statistics",
    ),
    "store": (
        store_cmd.add_arguments,
        store_cmd.run,
        "add finished run folders to a results store (idempotent)",
    ),
    "plugins": (
        plugins_cmd.add_arguments,
        plugins_cmd.run,
        "list installed plugins and load errors",
    ),
    "check-plugin": (
        check_plugin_cmd.add_arguments,
        check_plugin_cmd.run,
        "run the conformance kit on a plugin: what passed, failed or was skipped",
    ),
    "leaderboard": (
        leaderboard_cmd.add_arguments,
        leaderboard_cmd.run,
        "build leaderboard tables from the store",
    ),
    "ablate": (
        ablate_cmd.add_arguments,
        ablate_cmd.run,
        "a baseline against the baseline plus each trick, on the same seeds, with paired statistics",
    ),
    "sweep": (
        sweep_cmd.add_arguments,
        sweep_cmd.run,
        "run every cell of a sweep file (TOML: models x datasets x tricks x seeds, or rows); "
        "resumable, skips cells already stored",
    ),
    "tricks": (
        tricks_cmd.add_arguments,
        tricks_cmd.run,
        "list the tricks; --matrix: every trick against every model (applies, refused, effect)",
    ),
    "new-plugin": (
        new_plugin_cmd.add_arguments,
        new_plugin_cmd.run,
        "write a pip-installable plugin package (model, trick, dataset or metric) to start from",
    ),
}


def add_plugins_dir_argument(parser: argparse.ArgumentParser, default: object = None) -> None:
    """``--plugins-dir DIR``: every command loads plugins, so every command takes it."""
    parser.add_argument(
        "--plugins-dir",
        type=Path,
        metavar="DIR",
        default=default,
        help="also load plugin .py files from this folder (default: $GANBENCH_PLUGINS_DIR)",
    )


def build_parser() -> OneLineParser:
    """The top-level parser with one sub-parser per command.

    ``--plugins-dir`` is accepted before the command (``ganbench --plugins-dir
    D check-plugin X``) and after it (``ganbench run --plugins-dir D ...``):
    the top-level parser declares it with the default, each command's parser
    without one (``SUPPRESS``), so a command's parser never resets a value
    given before the command; given in both places, the later one wins.
    """
    common = argparse.ArgumentParser(add_help=False)
    add_plugins_dir_argument(common, default=argparse.SUPPRESS)
    parser = OneLineParser(prog="ganbench", description="Benchmark GANs under one honest protocol.")
    parser.add_argument("--version", action="version", version=f"ganbench {__version__}")
    add_plugins_dir_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name, (add_arguments, _, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return 2.

    Arguments are parsed, and bad flags rejected, before torch is imported
    (about two seconds): the command modules import it only when they run.
    """
    args = build_parser().parse_args(argv)
    try:
        from ganbench.registry import load_registry

        registry = load_registry(args.plugins_dir)
        _, handler, _ = COMMANDS[args.command]
        return handler(args, registry)
    except GanbenchError as exc:
        sys.stderr.write(f"ganbench: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # A run that has its folder says which one to resume; anything else
        # was stopped before it wrote anything that needs resuming.
        run_dir = getattr(exc, "run_dir", None)
        if run_dir is not None:
            sys.stderr.write(
                f"ganbench: interrupted; resume this run with `ganbench run --resume {run_dir}`\n"
            )
        else:
            sys.stderr.write("ganbench: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
