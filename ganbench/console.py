"""The one place that decides how wide ganbench's rich output is.

On a terminal, rich wraps to the terminal's width. Anywhere else (a CI log,
a pipe, a file) rich falls back to 80 columns and cuts tables and paths with
``…``, which loses exactly what a log is kept for. Output that is not a
terminal therefore gets a width no table reaches and no line wrapping: every
row and path arrives whole, one line each, for ``grep`` and for people.
"""

from __future__ import annotations

import os

from rich.console import Console

#: Columns rich may use when the output is not a terminal. Tables take only
#: their natural width, so this is a ceiling, not padding.
NON_TERMINAL_WIDTH = 10_000


def make_console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr) that cuts nothing when it is not a terminal.

    An explicit ``COLUMNS`` in the environment still wins: whoever set it
    asked for that width.
    """
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Plain lines wrap only past this width too, so a path stays one line.
        # (soft_wrap would do that as well, but it also drops table titles' centring.)
        console.width = NON_TERMINAL_WIDTH
    return console
