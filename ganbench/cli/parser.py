"""An argparse parser whose errors are one line and exit code 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag as ``ganbench <command>: error: ...`` on one line."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def comma_list(text: str) -> tuple[str, ...]:
    """argparse type: ``a,b,c`` -> ("a", "b", "c")."""
    items = tuple(part.strip() for part in text.split(",") if part.strip())
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def add_inception_weights_argument(parser: argparse.ArgumentParser) -> None:
    """``--inception-weights PATH``, shared by the commands that may use Inception-v3."""
    parser.add_argument(
        "--inception-weights",
        type=Path,
        metavar="PATH",
        help="Inception-v3 FID weights file (pytorch-fid's or torch-fidelity's; "
        "default: $GANBENCH_INCEPTION_WEIGHTS, then the torch hub cache, then a download)",
    )
